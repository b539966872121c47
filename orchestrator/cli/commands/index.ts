import type { Command } from 'commander';

/** Each command file registers its flags and lazily imports its implementation, so `--help` stays fast. */
export type DefineCommand = (program: Command) => Command;

import kernel from './kernel.js';

export const commands: DefineCommand[] = [kernel];
