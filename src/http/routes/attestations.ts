// Attestation intake and queries: POST /v1/provenance, POST /v1/attestations, POST /v1/bundles,
// GET /v1/attestations[/{id}], GET /v1/artifacts/{digest}.
import { createRoute } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { Deps } from '../../deps.ts';
import { AppError, type FieldError } from '../../errors.ts';
import { assertMayActFor, evidenceRoles } from '../../identity/grants.ts';
import { normalizeDigest } from '../../intoto/statement.ts';
import type { AttestationRecord } from '../../services/attest.ts';
import { callerOf, requireRole } from '../auth.ts';
import { requireJson } from '../middleware.ts';
import { bearerSecurity, PageQuery, problemResponses, router, z } from '../openapi.ts';

const EnvironmentName = z.string().regex(/^[a-z0-9-]{1,63}$/, 'an environment name: [a-z0-9-]+');
const AnyJson = z.unknown().openapi({ type: 'object' });

export const AttestationRecordSchema = z
  .object({
    id: z.string(),
    predicateType: z.string(),
    subjects: z.array(z.object({ name: z.string().nullable(), digest: z.string() })),
    environment: z.string().nullable(),
    signer: z.object({ subject: z.string(), issuer: z.string() }),
    origin: z.enum(['signed', 'ingested']),
    logIndex: z.number().int(),
    integratedTime: z.number().int(),
    createdAt: z.string(),
    statement: AnyJson,
    bundle: AnyJson,
  })
  .openapi('Attestation');

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
    // buildType, externalParameters and builder are required too, unless a CI identity's claims
    // supply them: IntakeService.provenance checks (identity/provenance.ts completeFacts).
    for (const k of ['subjects'] as const) {
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
  digest: z.string().max(200).optional(),
  predicateType: z.string().max(4096).optional(),
  environment: EnvironmentName.optional(),
});

const created = {
  201: {
    description: 'signed, logged and stored',
    content: { 'application/json': { schema: AttestationRecordSchema } },
  },
  200: {
    description: 'the same request was made before: the existing record',
    content: { 'application/json': { schema: AttestationRecordSchema } },
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

function recordJson(r: AttestationRecord) {
  return { ...r, bundle: r.bundle as unknown };
}

export function attestationRoutes(
  deps: Pick<Deps, 'tokens' | 'intake' | 'attest' | 'idempotency' | 'ingest' | 'promotion' | 'rebuilds'>,
) {
  const app = router();
  const anyRole = requireRole(deps.tokens);

  const respond = (c: Context, outcome: { record: AttestationRecord; status: 200 | 201 }) =>
    c.json(recordJson(outcome.record), outcome.status, { location: `/v1/attestations/${outcome.record.id}` });

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
      return respond(c, outcome) as never;
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
      assertMayActFor(caller, body.environment, evidenceRoles(body.statement)); // workload identity: grants may limit environments
      const outcome = await deps.idempotency.run(
        caller.subject,
        c.req.header('idempotency-key'),
        'attestations',
        body,
        () => deps.intake.evidence(body, caller),
      );
      return respond(c, outcome) as never;
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
      if (body.environment !== undefined) {
        deps.intake.checkEnvironment(body.environment);
        assertMayActFor(caller, body.environment, ['tester', 'builder']); // workload identity: grants may limit environments
      }
      const outcome = await deps.idempotency.run(caller.subject, c.req.header('idempotency-key'), 'bundles', body, () =>
        deps.ingest.ingest(body.bundle, caller, { environment: body.environment ?? null }),
      );
      return respond(c, outcome) as never;
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
        200: { description: 'the record', content: { 'application/json': { schema: AttestationRecordSchema } } },
        ...problemResponses(400, 401, 404),
      },
    }),
    async (c) => {
      const record = await deps.attest.get(c.req.valid('param').id);
      if (!record) throw new AppError('NOT_FOUND', 'no attestation with that id');
      return c.json(recordJson(record), 200) as never;
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
              schema: z.object({ items: z.array(AttestationRecordSchema), nextCursor: z.string().nullable() }),
            },
          },
        },
        ...problemResponses(400, 401),
      },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const digest = q.digest === undefined ? undefined : digestParam(q.digest, '/digest');
      const page = await deps.intake.list({ ...q, digest });
      return c.json({ items: page.items.map(recordJson), nextCursor: page.nextCursor }, 200) as never;
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/artifacts/{digest}',
      summary: 'Everything known about an artifact digest (sha256:<hex>)',
      security: bearerSecurity,
      middleware: [anyRole] as const,
      request: { params: z.object({ digest: z.string().max(200) }) },
      responses: {
        200: {
          description: 'the artifact',
          content: {
            'application/json': {
              schema: z
                .object({
                  digest: z.string(),
                  names: z.array(z.string()),
                  attestations: z.array(AttestationRecordSchema),
                  verdicts: z.array(z.unknown()),
                  deployments: z.array(z.unknown()),
                  rebuildOf: z
                    .array(z.unknown())
                    .openapi({ description: 'older digests built from the same subject name and source' }),
                  rebuilds: z
                    .array(z.unknown())
                    .openapi({ description: 'newer digests built from the same subject name and source' }),
                })
                .openapi('Artifact'),
            },
          },
        },
        ...problemResponses(400, 401, 404),
      },
    }),
    async (c) => {
      const digest = digestParam(c.req.valid('param').digest, '/digest');
      const artifact = await deps.intake.artifact(digest);
      if (!artifact) throw new AppError('NOT_FOUND', `nothing is known about ${digest}`);
      const [history, relations] = await Promise.all([
        deps.promotion.historyOf(digest),
        deps.rebuilds.relations(digest),
      ]);
      return c.json(
        { ...artifact, attestations: artifact.attestations.map(recordJson), ...history, ...relations },
        200,
      ) as never;
    },
  );
  return app;
}

function digestParam(value: string, path: string): string {
  try {
    return normalizeDigest(decodeURIComponent(value));
  } catch (err) {
    throw new AppError('VALIDATION_FAILED', 'invalid digest', { errors: [{ path, message: (err as Error).message }] });
  }
}
