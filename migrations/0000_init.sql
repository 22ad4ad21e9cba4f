CREATE TABLE "attestation_subjects" (
	"attestation_id" text NOT NULL,
	"digest" text NOT NULL,
	"name" text,
	CONSTRAINT "attestation_subjects_attestation_id_digest_pk" PRIMARY KEY("attestation_id","digest")
);
--> statement-breakpoint
CREATE TABLE "attestations" (
	"id" text PRIMARY KEY NOT NULL,
	"predicate_type" text NOT NULL,
	"statement" jsonb NOT NULL,
	"statement_sha256" text NOT NULL,
	"bundle" jsonb NOT NULL,
	"signer_subject" text NOT NULL,
	"signer_issuer" text NOT NULL,
	"environment" text,
	"origin" text NOT NULL,
	"log_index" bigint NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "attestations_log_index_unique" UNIQUE("log_index")
);
--> statement-breakpoint
CREATE TABLE "deployments" (
	"id" text PRIMARY KEY NOT NULL,
	"digest" text NOT NULL,
	"environment" text NOT NULL,
	"verdict_id" text NOT NULL,
	"attestation_id" text NOT NULL,
	"deployer" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "exception_approvals" (
	"exception_id" text NOT NULL,
	"approver" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "exception_approvals_exception_id_approver_pk" PRIMARY KEY("exception_id","approver")
);
--> statement-breakpoint
CREATE TABLE "log_checkpoints" (
	"tree_size" bigint PRIMARY KEY NOT NULL,
	"root_hash" "bytea" NOT NULL,
	"note" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "log_entries" (
	"log_index" bigint PRIMARY KEY NOT NULL,
	"body" "bytea" NOT NULL,
	"leaf_hash" "bytea" NOT NULL,
	"integrated_time" bigint NOT NULL,
	"kind" text NOT NULL,
	"attestation_id" text NOT NULL,
	CONSTRAINT "log_entries_attestation_id_unique" UNIQUE("attestation_id")
);
--> statement-breakpoint
CREATE TABLE "log_nodes" (
	"level" smallint NOT NULL,
	"idx" bigint NOT NULL,
	"hash" "bytea" NOT NULL,
	CONSTRAINT "log_nodes_level_idx_pk" PRIMARY KEY("level","idx")
);
--> statement-breakpoint
CREATE TABLE "rebuild_exceptions" (
	"id" text PRIMARY KEY NOT NULL,
	"original" text NOT NULL,
	"rebuild" text NOT NULL,
	"environment" text NOT NULL,
	"reason" text NOT NULL,
	"ticket" text,
	"requested_by" text NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"expires_at" timestamp with time zone,
	"attestation_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "tokens" (
	"id" text PRIMARY KEY NOT NULL,
	"sha256" text NOT NULL,
	"subject" text NOT NULL,
	"roles" text[] NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone,
	"revoked_at" timestamp with time zone,
	CONSTRAINT "tokens_sha256_unique" UNIQUE("sha256")
);
--> statement-breakpoint
CREATE TABLE "verdicts" (
	"id" text PRIMARY KEY NOT NULL,
	"digest" text NOT NULL,
	"environment" text NOT NULL,
	"decision" text NOT NULL,
	"policy_digest" text NOT NULL,
	"result" jsonb NOT NULL,
	"vsa_attestation_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "attestation_subjects" ADD CONSTRAINT "attestation_subjects_attestation_id_attestations_id_fk" FOREIGN KEY ("attestation_id") REFERENCES "public"."attestations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deployments" ADD CONSTRAINT "deployments_verdict_id_verdicts_id_fk" FOREIGN KEY ("verdict_id") REFERENCES "public"."verdicts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deployments" ADD CONSTRAINT "deployments_attestation_id_attestations_id_fk" FOREIGN KEY ("attestation_id") REFERENCES "public"."attestations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "exception_approvals" ADD CONSTRAINT "exception_approvals_exception_id_rebuild_exceptions_id_fk" FOREIGN KEY ("exception_id") REFERENCES "public"."rebuild_exceptions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "log_entries" ADD CONSTRAINT "log_entries_attestation_id_attestations_id_fk" FOREIGN KEY ("attestation_id") REFERENCES "public"."attestations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "rebuild_exceptions" ADD CONSTRAINT "rebuild_exceptions_attestation_id_attestations_id_fk" FOREIGN KEY ("attestation_id") REFERENCES "public"."attestations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "verdicts" ADD CONSTRAINT "verdicts_vsa_attestation_id_attestations_id_fk" FOREIGN KEY ("vsa_attestation_id") REFERENCES "public"."attestations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "attestation_subjects_digest_idx" ON "attestation_subjects" USING btree ("digest");--> statement-breakpoint
CREATE UNIQUE INDEX "attestations_signer_statement_uq" ON "attestations" USING btree ("signer_subject","statement_sha256");--> statement-breakpoint
CREATE INDEX "attestations_predicate_type_idx" ON "attestations" USING btree ("predicate_type");--> statement-breakpoint
CREATE INDEX "deployments_env_idx" ON "deployments" USING btree ("environment","created_at");--> statement-breakpoint
CREATE INDEX "verdicts_digest_env_idx" ON "verdicts" USING btree ("digest","environment");