CREATE TABLE "admission_events" (
	"id" text PRIMARY KEY NOT NULL,
	"uid" text NOT NULL,
	"namespace" text,
	"environment" text,
	"enforcement" text,
	"operation" text,
	"kind" text,
	"name" text,
	"decision" text NOT NULL,
	"allowed" boolean NOT NULL,
	"images" jsonb NOT NULL,
	"message" text,
	"caller" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "admission_events_created_idx" ON "admission_events" USING btree ("created_at","id");--> statement-breakpoint
CREATE INDEX "deployments_digest_env_idx" ON "deployments" USING btree ("digest","environment");