CREATE TABLE `kernel_metrics` (
	`trial_id` text NOT NULL,
	`phase` text NOT NULL,
	`kind` text NOT NULL,
	`mode` text NOT NULL,
	`rel_frob` real NOT NULL,
	`alignment` real,
	`movement` real,
	PRIMARY KEY(`trial_id`, `phase`, `kind`, `mode`),
	FOREIGN KEY (`trial_id`) REFERENCES `trials`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `metric_points` (
	`trial_id` text NOT NULL,
	`series` text NOT NULL,
	`step` integer NOT NULL,
	`value` real NOT NULL,
	PRIMARY KEY(`trial_id`, `series`, `step`),
	FOREIGN KEY (`trial_id`) REFERENCES `trials`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `sweep_trials` (
	`sweep` text NOT NULL,
	`trial_id` text NOT NULL,
	PRIMARY KEY(`sweep`, `trial_id`),
	FOREIGN KEY (`sweep`) REFERENCES `sweeps`(`name`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`trial_id`) REFERENCES `trials`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `sweep_trials_trial_idx` ON `sweep_trials` (`trial_id`);--> statement-breakpoint
CREATE TABLE `sweeps` (
	`name` text PRIMARY KEY NOT NULL,
	`task` text NOT NULL,
	`spec` text NOT NULL,
	`retries` integer DEFAULT 2 NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `trials` (
	`id` text PRIMARY KEY NOT NULL,
	`sweep` text NOT NULL,
	`config` text NOT NULL,
	`task` text NOT NULL,
	`f_width` integer NOT NULL,
	`f_depth` integer NOT NULL,
	`g_width` integer NOT NULL,
	`g_depth` integer NOT NULL,
	`seed` integer NOT NULL,
	`lr` real NOT NULL,
	`status` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`worker` text,
	`host` text,
	`backend` text,
	`versions` text,
	`git_commit` text,
	`timings` text,
	`error` text,
	`train_loss` real,
	`test_loss` real,
	`test_accuracy` real,
	`steps_run` integer,
	`metrics` text,
	`queued_at` integer,
	`started_at` integer,
	`finished_at` integer,
	FOREIGN KEY (`sweep`) REFERENCES `sweeps`(`name`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `trials_sweep_idx` ON `trials` (`sweep`);--> statement-breakpoint
CREATE INDEX `trials_status_idx` ON `trials` (`status`);--> statement-breakpoint
CREATE INDEX `trials_widths_idx` ON `trials` (`f_width`,`g_width`);--> statement-breakpoint
CREATE TABLE `workers` (
	`id` text PRIMARY KEY NOT NULL,
	`host` text NOT NULL,
	`backend` text,
	`device` text,
	`pid` integer,
	`current_trial` text,
	`started_at` integer NOT NULL,
	`heartbeat_at` integer NOT NULL
);
