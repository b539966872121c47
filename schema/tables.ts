import { index, integer, primaryKey, real, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import type { TrialConfig } from '../core/config.js';
import type { TrialResult } from '../core/result.js';
import { keyColumns, type KeyColumn } from './keys.js';

/**
 * The results database's tables. One writer per file (the orchestrator / local runner); remote workers send
 * results through Redis. The config-key columns of `trials` come from keys.ts; the views, indexes and the sweep
 * cube built on these tables are in ddl.ts.
 */

export const trialStatuses = ['queued', 'running', 'completed', 'failed', 'diverged', 'cancelled'] as const;
export type TrialStatus = (typeof trialStatuses)[number];

export const sweeps = sqliteTable('sweeps', {
  /** The sweep file's `name`. */
  name: text('name').primaryKey(),
  task: text('task').notNull(),
  /** The sweep file as parsed (JSON). */
  spec: text('spec', { mode: 'json' }).$type<Record<string, unknown>>().notNull(),
  retries: integer('retries').notNull().default(2),
  createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
  updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
});

const keyBuilders = {
  text: (name: string) => text(name).notNull(),
  integer: (name: string) => integer(name).notNull(),
  real: (name: string) => real(name).notNull(),
};

/** The config-key columns (task, f_width, ...), from the one declaration in keys.ts. */
const keyColumnBuilders = Object.fromEntries(keyColumns.map((k) => [k.field, keyBuilders[k.type](k.column)])) as {
  [C in KeyColumn as C['field']]: ReturnType<(typeof keyBuilders)[C['type']]>;
};

export const trials = sqliteTable(
  'trials',
  {
    /** Hash of the canonical config with defaults applied = BullMQ job id. */
    id: text('id').primaryKey(),
    /** The sweep that first created the trial; membership lives in sweep_trials. */
    sweep: text('sweep').notNull().references(() => sweeps.name),
    config: text('config', { mode: 'json' }).$type<TrialConfig>().notNull(),
    ...keyColumnBuilders,
    status: text('status', { enum: trialStatuses }).notNull(),
    attempts: integer('attempts').notNull().default(0),
    worker: text('worker'),
    host: text('host'),
    backend: text('backend'),
    versions: text('versions', { mode: 'json' }).$type<TrialResult['versions']>(),
    /** Provenance of the stored result (core/code-identity.ts): package version, code hash, git commit (or null). */
    codeVersion: text('code_version'),
    codeHash: text('code_hash'),
    gitCommit: text('git_commit'),
    timings: text('timings', { mode: 'json' }).$type<TrialResult['timings']>(),
    error: text('error'),
    trainLoss: real('train_loss'),
    testLoss: real('test_loss'),
    testAccuracy: real('test_accuracy'),
    stepsRun: integer('steps_run'),
    /** The full result metrics object (JSON), for fields without a column. */
    metrics: text('metrics', { mode: 'json' }).$type<TrialResult['metrics']>(),
    queuedAt: integer('queued_at', { mode: 'timestamp_ms' }),
    startedAt: integer('started_at', { mode: 'timestamp_ms' }),
    finishedAt: integer('finished_at', { mode: 'timestamp_ms' }),
  },
  (t) => [
    index('trials_sweep_idx').on(t.sweep),
    index('trials_status_idx').on(t.status),
    index('trials_widths_idx').on(t.fWidth, t.gWidth),
  ],
);

/** A trial belongs to every sweep that lists its config; it is computed once. */
export const sweepTrials = sqliteTable(
  'sweep_trials',
  {
    sweep: text('sweep').notNull().references(() => sweeps.name),
    trialId: text('trial_id').notNull().references(() => trials.id),
  },
  (t) => [primaryKey({ columns: [t.sweep, t.trialId] }), index('sweep_trials_trial_idx').on(t.trialId)],
);

/** Metric series (the training loss curve, ...): one row per (trial, series, step), so writes are idempotent. */
export const metricPoints = sqliteTable(
  'metric_points',
  {
    trialId: text('trial_id').notNull().references(() => trials.id),
    series: text('series').notNull(),
    step: integer('step').notNull(),
    value: real('value').notNull(),
  },
  (t) => [primaryKey({ columns: [t.trialId, t.series, t.step] })],
);

/** Empirical-vs-analytic kernel agreement for one trial, per phase, kind and analytic mode. */
export const kernelMetrics = sqliteTable(
  'kernel_metrics',
  {
    trialId: text('trial_id').notNull().references(() => trials.id),
    phase: text('phase', { enum: ['init', 'final'] }).notNull(),
    kind: text('kind', { enum: ['ntk', 'gp'] }).notNull(),
    mode: text('mode', { enum: ['exact', 'paper-code'] }).notNull(),
    relFrob: real('rel_frob').notNull(),
    alignment: real('alignment'),
    /** ‖Θ̂_T − Θ̂_0‖/‖Θ̂_0‖; set on the (final, ntk, exact) row. */
    movement: real('movement'),
  },
  (t) => [primaryKey({ columns: [t.trialId, t.phase, t.kind, t.mode] })],
);

export const workers = sqliteTable('workers', {
  id: text('id').primaryKey(),
  host: text('host').notNull(),
  backend: text('backend'),
  pid: integer('pid'),
  currentTrial: text('current_trial'),
  startedAt: integer('started_at', { mode: 'timestamp_ms' }).notNull(),
  heartbeatAt: integer('heartbeat_at', { mode: 'timestamp_ms' }).notNull(),
});

export type Sweep = typeof sweeps.$inferSelect;
export type Trial = typeof trials.$inferSelect;
export type NewTrial = typeof trials.$inferInsert;
