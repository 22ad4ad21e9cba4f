CREATE TABLE "ui_sessions" (
	"id" text PRIMARY KEY NOT NULL,
	"token_id" text NOT NULL,
	"caller" jsonb NOT NULL,
	"csrf" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"revoked_at" timestamp with time zone
);
--> statement-breakpoint
CREATE INDEX "ui_sessions_expires_idx" ON "ui_sessions" USING btree ("expires_at");