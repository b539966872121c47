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

/** A backend that cannot be used on this machine: every trial here would fail the same way (kind `fatal`). */
export class BackendUnavailableError extends HypersweepError {
  override name = 'BackendUnavailableError';
  override readonly kind = 'fatal';
  constructor(backend: string, reason: string) {
    super(`backend ${backend} is not available: ${reason}`);
  }
}
