import { HypersweepError } from './errors.js';

/**
 * The compute backends a trial can ask for (`--backend`, `HYPERSWEEP_BACKEND`). Declared here, apart from
 * worker/backend (which loads TensorFlow.js), so the CLI can check a name without loading it.
 */
export const backendNames = ['auto', 'native', 'wasm', 'cpu', 'tensorflow', 'webgpu'] as const;
export type BackendName = (typeof backendNames)[number];

export function isBackendName(name: string): name is BackendName {
  return (backendNames as readonly string[]).includes(name);
}

/**
 * The wasm backend's heap (tfjs-backend-wasm 4.22 is wasm32: `getHeapMax()` = 65,535 pages of 64 KiB, just under
 * 4 GiB). Every tensor of the `wasm` backend, and of `native` in its wasm-heap mode, lives there.
 */
export const WASM_HEAP_MAX_BYTES = 4_294_901_760;

/**
 * From this many bytes of tensors (the wasm-heap estimate), `native` runs in host-memory mode even when the heap
 * would hold them: measured at 151 M parameters, the wasm heap's growth peaked at 1.35× PyTorch's RSS, host-memory
 * mode at 0.96× with a step as fast; at 38 M parameters (0.45 GB of tensors) wasm-heap mode is 1.4× faster and
 * within 1.12× of PyTorch's RSS (docs/model.md).
 */
export const HOST_MEMORY_FROM_BYTES = 2 ** 30;

/**
 * Whether `native` runs a trial with this many bytes of tensors in host-memory mode. HYPERSWEEP_NATIVE_MEMORY=host
 * or =heap forces a mode (heap only where the tensors fit the wasm heap).
 */
export function nativeHostMemory(tensorBytes: number): boolean {
  const force = typeof process === 'undefined' ? undefined : process.env.HYPERSWEEP_NATIVE_MEMORY;
  if (tensorBytes > WASM_HEAP_MAX_BYTES || force === 'host') return true;
  return force !== 'heap' && tensorBytes >= HOST_MEMORY_FROM_BYTES;
}

/** A backend that cannot be used on this machine: every trial here would fail the same way (kind `fatal`). */
export class BackendUnavailableError extends HypersweepError {
  override name = 'BackendUnavailableError';
  override readonly kind = 'fatal';
  constructor(backend: string, reason: string) {
    super(`backend ${backend} is not available: ${reason}`);
  }
}
