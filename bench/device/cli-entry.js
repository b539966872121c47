// Bundle entry for the GPU machine: the CLI without bin/'s dist/ lookup.
import { main } from '../../dist/orchestrator/cli/main.js';
await main(process.argv.slice(2));
