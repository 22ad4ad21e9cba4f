CREATE TABLE "policy_versions" (
	"environment" text NOT NULL,
	"sha256" text NOT NULL,
	"file" text NOT NULL,
	"content" text NOT NULL,
	"first_seen" timestamp with time zone DEFAULT now() NOT NULL,
	"last_seen" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "policy_versions_environment_sha256_pk" PRIMARY KEY("environment","sha256")
);
--> statement-breakpoint
ALTER TABLE "exception_approvals" ADD COLUMN "attestation_id" text;--> statement-breakpoint
ALTER TABLE "rebuild_exceptions" ADD COLUMN "accepted_builder_dependencies" text[] DEFAULT '{}'::text[] NOT NULL;--> statement-breakpoint
ALTER TABLE "exception_approvals" ADD CONSTRAINT "exception_approvals_attestation_id_attestations_id_fk" FOREIGN KEY ("attestation_id") REFERENCES "public"."attestations"("id") ON DELETE no action ON UPDATE no action;