import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { z } from 'zod';
import { HypersweepError, parseOrThrow } from '../../../core/errors.js';
import { dbOption, examples, SWEEP_ARG, sweepName, sweepOption } from './_shared.js';

export default function define(program: Command): Command {
  const cmd = program
    .command('report')
    .description("Write one self-contained HTML report (Vega inlined): of a sweep, or with --paper of every paper experiment (sweeps/paper/) in the database")
    .argument(SWEEP_ARG, 'the sweep, as --sweep NAME or positionally (not with --paper)')
    .addOption(dbOption())
    .addOption(sweepOption())
    .option('--paper', "every experiment of sweeps/paper/ in one page: questions, protocols, plots, claims with verdicts, differences from the official code")
    .option('--sweeps-dir <dir>', 'with --paper: the folder of paper sweep files (default: sweeps/paper of this installation)')
    .requiredOption('--out <file>', 'HTML file to write (atomically)')
    .action(async (sweep: string | undefined, opts: Record<string, unknown>) => {
      const name = sweepName(sweep, opts.sweep);
      if (opts.paper === true) {
        if (name !== undefined) throw new HypersweepError(`report --paper covers every paper sweep; drop the sweep name '${name}'`);
        await runPaperReport(opts);
        return;
      }
      if (opts.sweepsDir !== undefined) throw new HypersweepError('--sweeps-dir: only with --paper');
      const { runReport } = await import('../../../dashboards/cli.js');
      runReport({ ...opts, sweep: name });
    });
  return examples(cmd, 'hypersweep report --sweep quickstart --out report.html', 'hypersweep report --paper --db paper.db --out paper-report.html');
}

/** sweeps/paper of this installation: beside orchestrator/ from source, two levels further up from dist/. */
function defaultSweepsDir(): string {
  const candidates = ['../../../sweeps/paper', '../../../../sweeps/paper'].map((p) => fileURLToPath(new URL(p, import.meta.url)));
  return candidates.find((d) => existsSync(d)) ?? candidates[0]!;
}

const paperFlags = z.object({ db: z.string().min(1), out: z.string().min(1), sweepsDir: z.string().min(1).optional() });

async function runPaperReport(raw: Record<string, unknown>): Promise<void> {
  const o = parseOrThrow(paperFlags, raw, 'report');
  const dir = o.sweepsDir ?? defaultSweepsDir();
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new HypersweepError(`--sweeps-dir ${dir}: no such folder of sweep files`);
  const { loadSweep } = await import('../../sweep.js');
  const { assertOutNotInput, databaseFiles } = await import('../../../core/out-file.js');
  const { closeDb, openDb, readWith } = await import('../../../schema/db.js');
  const { writeAtomic } = await import('../../../schema/queries-cli.js');
  const { buildPaperReport } = await import('../../../dashboards/paper-report.js');
  const { vendorFiles } = await import('../../../dashboards/html.js');
  const paths = readdirSync(dir).filter((f) => /\.ya?ml$/i.test(f)).sort().map((f) => join(dir, f));
  // Each file is validated as `run` would (a bad one is an error naming it); the page lists them by file name.
  const shown = (p: string) => {
    const rel = relative(process.cwd(), resolve(p));
    return rel.startsWith('..') ? p : rel;
  };
  const files = paths.map((p) => ({ file: shown(p), name: loadSweep(p).name }));
  assertOutNotInput(o.out, [...databaseFiles(o.db), ...vendorFiles, ...paths]);
  const db = openDb(o.db, { readonly: true });
  let html: string;
  try {
    html = readWith(o.db, db, (d) => buildPaperReport(d, { files, dbLabel: o.db }));
  } finally {
    closeDb(db);
  }
  writeAtomic(o.out, html);
  process.stdout.write(`wrote ${o.out} (${(Buffer.byteLength(html) / 1024).toFixed(0)} KiB, self-contained; ${files.length} paper sweep files)\n`);
}
