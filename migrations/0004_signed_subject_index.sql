CREATE TABLE "subject_heads" (
	"digest" text PRIMARY KEY NOT NULL,
	"entries" bigint NOT NULL,
	"last_log_index" bigint NOT NULL,
	"chain" "bytea" NOT NULL,
	"key_id" "bytea" NOT NULL,
	"signature" "bytea" NOT NULL
);
--> statement-breakpoint
ALTER TABLE "log_entries" ADD COLUMN "set" "bytea";--> statement-breakpoint
CREATE INDEX "log_entries_unsealed_idx" ON "log_entries" USING btree ("log_index") WHERE "log_entries"."set" is null;