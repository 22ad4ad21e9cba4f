// Attestation intake and queries: POST /v1/provenance, POST /v1/attestations, POST /v1/bundles,
// GET /v1/attestations[/{id}], POST /v1/attestations/{id}/revocations, GET /v1/artifacts/{digest}.
import { createRoute } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { Deps } from '../../deps.ts';
import { AppError, type FieldError } from '../../errors.ts';
import type { BuildFacts } from '../../intoto/waybill.ts';
import type { Signed } from '../../services/attest.ts';
import type { Caller, Role } from '../../services/tokens.ts';
import { callerOf, requireRole } from '../auth.ts';
import { requireJson } from '../middleware.ts';
import {
  behind,
  DigestParam,
  EnvironmentName,
  jsonBody,
  jsonResponse,
  PageQuery,
  pageOf,
  problemResponses,
  router,
  z,
} from '../openapi.ts';
import { Artifact, AttestationRecord } from '../schemas.ts';

const AttestationId = z.string().regex(/^[0-9a-f]{64}$/, 'a 64-character hex attestation id');
const RevocationRequest = z
  .object({ reason: z.string().trim().min(1, 'say why it is revoked').max(2000) })
  .strict()
  .openapi('RevocationRequest');

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
  deps: Pick<
    Deps,
    'tokens' | 'intake' | 'attest' | 'idempotency' | 'ingest' | 'deployments' | 'rebuilds' | 'revocations'
  >,
) {
  const app = router();
  const anyRole = requireRole(deps.tokens);

  /** A POST that signs (or ingests) once per Idempotency-Key and answers with the stored record. */
  const signingRoute = <S extends z.ZodType>(route: {
    path: string;
    summary: string;
    schema: S;
    roles: Role[];
    /** Problems beyond the ones every signing route can answer. */
    also?: number[];
  }) =>
    createRoute({
      method: 'post',
      path: route.path,
      summary: route.summary,
      ...behind(requireRole(deps.tokens, ...route.roles), requireJson),
      request: { headers: idempotencyHeader, body: jsonBody(route.schema) },
      responses: { ...created, ...problemResponses(400, 401, 403, 409, 413, 415, ...(route.also ?? [])) },
    });
  const answer = async (c: Context, name: string, body: unknown, work: (caller: Caller) => Promise<Signed>) => {
    const caller = callerOf(c);
    const key = c.req.header('idempotency-key');
    const { record, status } = await deps.idempotency.run(caller.subject, key, name, body, () => work(caller));
    return c.json(record, status, { location: `/v1/attestations/${record.id}` });
  };

  app.openapi(
    signingRoute({
      path: '/v1/provenance',
      summary: 'Sign SLSA v1 provenance for build outputs',
      schema: ProvenanceRequest,
      roles: ['builder'],
    }),
    (c) => {
      const body = c.req.valid('json');
      return answer(c, 'provenance', body, (caller) =>
        body.statement !== undefined
          ? deps.intake.provenance({ statement: body.statement }, caller)
          : deps.intake.provenance(body as BuildFacts, caller).catch(mapFactErrors),
      );
    },
  );

  app.openapi(
    signingRoute({
      path: '/v1/attestations',
      summary: 'Sign a test result or other allowed evidence for an environment',
      schema: EvidenceRequest,
      roles: ['tester', 'builder'],
    }),
    (c) => {
      const body = c.req.valid('json');
      return answer(c, 'attestations', body, (caller) => deps.intake.evidence(body, caller));
    },
  );

  app.openapi(
    signingRoute({
      path: '/v1/bundles',
      summary: 'Ingest a Sigstore bundle signed elsewhere (verified against the configured external trust)',
      schema: BundleRequest,
      roles: ['tester', 'builder'],
      also: [422],
    }),
    (c) => {
      const body = c.req.valid('json');
      if (body.environment !== undefined) deps.intake.checkEnvironment(body.environment);
      const environment = body.environment ?? null;
      return answer(c, 'bundles', body, (caller) => deps.ingest.ingest(body.bundle, caller, { environment }));
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/attestations/{id}',
      summary: 'An attestation record and its bundle',
      ...behind(anyRole),
      request: { params: z.object({ id: AttestationId }) },
      responses: {
        200: jsonResponse('the record', AttestationRecord),
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
      method: 'post',
      path: '/v1/attestations/{id}/revocations',
      summary: 'Revoke an attestation (admin, or its own signer): verdicts no longer count it',
      ...behind(anyRole, requireJson),
      request: { params: z.object({ id: AttestationId }), body: jsonBody(RevocationRequest) },
      responses: {
        201: {
          description: 'the signed, logged revocation',
          content: { 'application/json': { schema: AttestationRecord } },
        },
        ...problemResponses(400, 401, 403, 404, 409, 415),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { record } = await deps.revocations.revoke(id, c.req.valid('json').reason, callerOf(c));
      return c.json(record, 201, { location: `/v1/attestations/${record.id}` });
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/attestations',
      summary: 'Attestations, newest first, filtered by digest, predicate type, environment',
      ...behind(anyRole),
      request: { query: ListQuery },
      responses: {
        200: jsonResponse('a page', pageOf(AttestationRecord)),
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
      ...behind(anyRole),
      request: { params: z.object({ digest: DigestParam }), query: PageQuery },
      responses: {
        200: jsonResponse(
          'the artifact: a page of its attestations (newest first), its latest verdicts and deployments',
          Artifact,
        ),
        ...problemResponses(400, 401, 404),
      },
    }),
    async (c) => {
      const { digest } = c.req.valid('param');
      const artifact = await deps.intake.artifact(digest, c.req.valid('query'));
      if (!artifact) throw new AppError('NOT_FOUND', `nothing is known about ${digest}`);
      const [history, relations, revocations] = await Promise.all([
        deps.deployments.historyOf(digest, { latest: 100 }),
        deps.rebuilds.relations(digest),
        deps.revocations.about(digest),
      ]);
      return c.json({ ...artifact, ...history, ...relations, revocations }, 200);
    },
  );
  return app;
}
