DROP INDEX "attestation_subjects_name_idx";--> statement-breakpoint
DROP INDEX "attestations_predicate_type_idx";--> statement-breakpoint
CREATE INDEX "attestation_subjects_name_idx" ON "attestation_subjects" USING hash ("name");--> statement-breakpoint
CREATE INDEX "attestations_predicate_type_idx" ON "attestations" USING hash ("predicate_type");