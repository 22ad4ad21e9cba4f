CREATE TABLE "idempotency_keys" (
	"caller_subject" text NOT NULL,
	"key" text NOT NULL,
	"route" text NOT NULL,
	"request_sha256" text NOT NULL,
	"status" smallint NOT NULL,
	"attestation_id" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "idempotency_keys_caller_subject_key_pk" PRIMARY KEY("caller_subject","key")
);
--> statement-breakpoint
ALTER TABLE "idempotency_keys" ADD CONSTRAINT "idempotency_keys_attestation_id_attestations_id_fk" FOREIGN KEY ("attestation_id") REFERENCES "public"."attestations"("id") ON DELETE no action ON UPDATE no action;