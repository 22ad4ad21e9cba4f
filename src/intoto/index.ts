// in-toto attestation and SLSA schemas: Statement v1 (and v0.1, read only), the field types,
// and the predicates waybill signs or reads.
export * from './digest.ts';
export * from './fields.ts';
export * from './issues.ts';
export * from './predicates.ts';
export * from './provenance.ts';
export * from './resource-descriptor.ts';
export * from './statement-layer.ts';
export * from './test-result.ts';
export * from './validate.ts';
export * from './vsa.ts';
export * from './vulns.ts';
export * from './waybill.ts';
