ALTER TABLE "tokens" ADD COLUMN "environments" text[];--> statement-breakpoint
ALTER TABLE "tokens" ADD COLUMN "builder_ids" text[];