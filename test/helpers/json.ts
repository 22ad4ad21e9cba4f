// Tests poke at arbitrary JSON (bundles, problems, records) by path; one loose type for that.
// biome-ignore lint/suspicious/noExplicitAny: test code reads untyped JSON responses
export type Json = any;
