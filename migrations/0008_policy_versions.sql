CREATE TABLE "policy_versions" (
	"environment" text NOT NULL,
	"sha256" text NOT NULL,
	"file" text NOT NULL,
	"content" text NOT NULL,
	"first_seen" timestamp with time zone DEFAULT now() NOT NULL,
	"last_seen" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "policy_versions_environment_sha256_pk" PRIMARY KEY("environment","sha256")
);
