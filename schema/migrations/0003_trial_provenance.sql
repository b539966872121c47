ALTER TABLE `trials` ADD `code_version` text;--> statement-breakpoint
ALTER TABLE `trials` ADD `code_hash` text;