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

/** A backend that cannot be used on this machine: every trial here would fail the same way (kind `fatal`). */
export class BackendUnavailableError extends HypersweepError {
  override name = 'BackendUnavailableError';
  override readonly kind = 'fatal';
  constructor(backend: string, reason: string) {
    super(`backend ${backend} is not available: ${reason}`);
  }
}
