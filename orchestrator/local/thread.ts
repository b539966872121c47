/** The local runner's trial-slot entry (a worker thread or forked child): serves executeTrial. */
import { executeTrial } from '../../worker/execute.js';
import { serveTrials } from './serve.js';

serveTrials(executeTrial);
