import { HypersweepError } from '../../orchestrator/errors.js';

export async function runKernelCommand(_opts: Record<string, unknown>): Promise<void> {
  throw new HypersweepError('kernel: not built yet');
}
