// Attestation intake and queries: POST /v1/provenance, POST /v1/attestations, POST /v1/bundles,
// GET /v1/attestations[/{id}], GET /v1/artifacts/{digest}.
import { createRoute } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { Deps } from '../../deps.ts';
import { AppError, type FieldError } from '../../errors.ts';
import type { AttestationRecord as StoredRecord } from '../../services/attest.ts';
import { callerOf, requireRole } from '../auth.ts';
import { requireJson } from '../middleware.ts';
import { bearerSecurity, DigestParam, EnvironmentName, PageQuery, problemResponses, router, z } from '../openapi.ts';
import { Artifact, AttestationRecord } from '../schemas.ts';

const AnyJson = z.unknown().openapi({ type: 'object' });

const ProvenanceRequest = z
  .object({
    statement: AnyJson.optional(),
    subjects: z
      .array(z.object({ name: z.string().min(1).max(4096), digest: z.record(z.string(), z.string()) }).strict())
      .min(1)
      .max(1000)
      .optional(),
    buildType: z.string().min(1).max(4096).optional(),
    externalParameters: z.record(z.string(), z.unknown()).optional(),
    internalParameters: z.record(z.string(), z.unknown()).optional(),
    resolvedDependencies: z.array(z.unknown()).max(10_000).optional(),
    builder: z
      .object({
        id: z.string().min(1).max(4096),
        version: z.record(z.string(), z.string()).optional(),
        builderDependencies: z.array(z.unknown()).optional(),
      })
      .strict()
      .optional(),
    metadata: z.record(z.string(), z.unknown()).optional(),
    byproducts: z.array(z.unknown()).optional(),
  })
  .strict()
  .superRefine((b, ctx) => {
    if (b.statement !== undefined) {
      for (const k of Object.keys(b)) {
        if (k !== 'statement')
          ctx.addIssue({ code: 'custom', path: [k], message: 'give either `statement` or the build facts, not both' });
      }
      return;
    }
    for (const k of ['subjects', 'buildType', 'externalParameters', 'builder'] as const) {
      if (b[k] === undefined)
        ctx.addIssue({ code: 'custom', path: [k], message: 'required (or give a complete `statement`)' });
    }
  })
  .openapi('ProvenanceRequest');

const EvidenceRequest = z
  .object({ environment: EnvironmentName, statement: AnyJson })
  .strict()
  .openapi('EvidenceRequest');
const BundleRequest = z
  .object({
    bundle: z.record(z.string(), z.unknown()).openapi({ type: 'object', description: 'a Sigstore bundle (JSON)' }),
    environment: EnvironmentName.optional(),
  })
  .strict()
  .openapi('BundleRequest');

const ListQuery = PageQuery.extend({
  digest: DigestParam.optional(),
  predicateType: z.string().max(4096).optional(),
  environment: EnvironmentName.optional(),
});

const created = {
  201: {
    description: 'signed, logged and stored',
    content: { 'application/json': { schema: AttestationRecord } },
  },
  200: {
    description: 'the same request was made before: the existing record',
    content: { 'application/json': { schema: AttestationRecord } },
  },
};

const idempotencyHeader = z.object({ 'idempotency-key': z.string().optional() });

/** Statement field paths -> the build-facts request paths they came from. */
const FACT_PATHS: Array<[string, string]> = [
  ['/statement/subject', '/subjects'],
  ['/statement/predicate/buildDefinition/', '/'],
  ['/statement/predicate/runDetails/builder', '/builder'],
  ['/statement/predicate/runDetails/', '/'],
];

function mapFactErrors(err: unknown): never {
  if (err instanceof AppError && err.errors) {
    const errors: FieldError[] = err.errors.map((e) => {
      const hit = FACT_PATHS.find(([from]) => e.path.startsWith(from));
      return hit ? { ...e, path: hit[1] + e.path.slice(hit[0].length).replace(/^\//, hit[1] === '/' ? '' : '/') } : e;
    });
    throw new AppError(err.code, err.message, { errors, cause: err });
  }
  throw err;
}

export function attestationRoutes(
  deps: Pick<Deps, 'tokens' | 'intake' | 'attest' | 'idempotency' | 'ingest' | 'deployments' | 'rebuilds'>,
) {
  const app = router();
  const anyRole = requireRole(deps.tokens);

  const respond = (c: Context, outcome: { record: StoredRecord; status: 200 | 201 }) =>
    c.json(outcome.record, outcome.status, { location: `/v1/attestations/${outcome.record.id}` });

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/provenance',
      summary: 'Sign SLSA v1 provenance for build outputs',
      security: bearerSecurity,
      middleware: [requireRole(deps.tokens, 'builder'), requireJson] as const,
      request: {
        headers: idempotencyHeader,
        body: { content: { 'application/json': { schema: ProvenanceRequest } }, required: true },
      },
      responses: { ...created, ...problemResponses(400, 401, 403, 409, 413, 415) },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const caller = callerOf(c);
      const outcome = await deps.idempotency.run(
        caller.subject,
        c.req.header('idempotency-key'),
        'provenance',
        body,
        () =>
          body.statement !== undefined
            ? deps.intake.provenance({ statement: body.statement }, caller)
            : deps.intake.provenance(body as Parameters<Deps['intake']['provenance']>[0], caller).catch(mapFactErrors),
      );
      return respond(c, outcome);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/attestations',
      summary: 'Sign a test result or other allowed evidence for an environment',
      security: bearerSecurity,
      middleware: [requireRole(deps.tokens, 'tester', 'builder'), requireJson] as const,
      request: {
        headers: idempotencyHeader,
        body: { content: { 'application/json': { schema: EvidenceRequest } }, required: true },
      },
      responses: { ...created, ...problemResponses(400, 401, 403, 409, 413, 415) },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const caller = callerOf(c);
      const outcome = await deps.idempotency.run(
        caller.subject,
        c.req.header('idempotency-key'),
        'attestations',
        body,
        () => deps.intake.evidence(body, caller),
      );
      return respond(c, outcome);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/bundles',
      summary: 'Ingest a Sigstore bundle signed elsewhere (verified against the configured external trust)',
      security: bearerSecurity,
      middleware: [requireRole(deps.tokens, 'tester', 'builder'), requireJson] as const,
      request: {
        headers: idempotencyHeader,
        body: { content: { 'application/json': { schema: BundleRequest } }, required: true },
      },
      responses: { ...created, ...problemResponses(400, 401, 403, 409, 413, 415, 422) },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const caller = callerOf(c);
      if (body.environment !== undefined) deps.intake.checkEnvironment(body.environment);
      const outcome = await deps.idempotency.run(caller.subject, c.req.header('idempotency-key'), 'bundles', body, () =>
        deps.ingest.ingest(body.bundle, caller, { environment: body.environment ?? null }),
      );
      return respond(c, outcome);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/attestations/{id}',
      summary: 'An attestation record and its bundle',
      security: bearerSecurity,
      middleware: [anyRole] as const,
      request: { params: z.object({ id: z.string().regex(/^[0-9a-f]{64}$/, 'a 64-character hex attestation id') }) },
      responses: {
        200: { description: 'the record', content: { 'application/json': { schema: AttestationRecord } } },
        ...problemResponses(400, 401, 404),
      },
    }),
    async (c) => {
      const record = await deps.attest.get(c.req.valid('param').id);
      if (!record) throw new AppError('NOT_FOUND', 'no attestation with that id');
      return c.json(record, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/attestations',
      summary: 'Attestations, newest first, filtered by digest, predicate type, environment',
      security: bearerSecurity,
      middleware: [anyRole] as const,
      request: { query: ListQuery },
      responses: {
        200: {
          description: 'a page',
          content: {
            'application/json': {
              schema: z.object({ items: z.array(AttestationRecord), nextCursor: z.string().nullable() }),
            },
          },
        },
        ...problemResponses(400, 401),
      },
    }),
    async (c) => {
      const page = await deps.intake.list(c.req.valid('query'));
      return c.json({ items: page.items, nextCursor: page.nextCursor }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/artifacts/{digest}',
      summary: 'Everything known about an artifact digest (sha256:<hex>)',
      security: bearerSecurity,
      middleware: [anyRole] as const,
      request: { params: z.object({ digest: DigestParam }) },
      responses: {
        200: {
          description: 'the artifact',
          content: {
            'application/json': {
              schema: Artifact,
            },
          },
        },
        ...problemResponses(400, 401, 404),
      },
    }),
    async (c) => {
      const { digest } = c.req.valid('param');
      const artifact = await deps.intake.artifact(digest);
      if (!artifact) throw new AppError('NOT_FOUND', `nothing is known about ${digest}`);
      const [history, relations] = await Promise.all([
        deps.deployments.historyOf(digest),
        deps.rebuilds.relations(digest),
      ]);
      return c.json({ ...artifact, ...history, ...relations }, 200);
    },
  );
  return app;
}
