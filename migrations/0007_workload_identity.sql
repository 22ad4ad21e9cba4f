CREATE TABLE "workload_certificates" (
	"fingerprint" text PRIMARY KEY NOT NULL,
	"subject" text NOT NULL,
	"issuer" text NOT NULL,
	"roles" text[] NOT NULL,
	"environments" text[],
	"scopes" jsonb NOT NULL,
	"workload" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE INDEX "workload_certificates_expires_idx" ON "workload_certificates" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "log_entries_leaf_hash_idx" ON "log_entries" USING btree ("leaf_hash");