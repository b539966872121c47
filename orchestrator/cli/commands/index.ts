import type { Command } from 'commander';

/** Each command file registers its flags and lazily imports its implementation, so `--help` stays fast. */
export type DefineCommand = (program: Command) => Command;

import kernel from './kernel.js';
import trial from './trial.js';
import plan from './plan.js';
import run from './run.js';
import status from './status.js';
import worker from './worker.js';
import resume from './resume.js';
import cancel from './cancel.js';
import query from './query.js';
import exportCmd from './export.js';
import dashboard from './dashboard.js';
import report from './report.js';
import check from './check.js';

export const commands: DefineCommand[] = [
  kernel, trial, plan, run, status, worker, resume, cancel, query, exportCmd, dashboard, report, check,
];
