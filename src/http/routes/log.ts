// Public trust material and the transparency log: what an auditor needs, no token required.
import { createRoute } from '@hono/zod-openapi';
import type { Deps } from '../../deps.ts';
import { AppError } from '../../errors.ts';
import { TRUSTED_ROOT_MEDIA_TYPE } from '../../signing/trusted-root.ts';
import { indentedJson, jsonResponse, problemResponses, router, z } from '../openapi.ts';

const TrustedRoot = z
  .unknown()
  .openapi({ type: 'object', description: 'a Sigstore TrustedRoot (protobuf-specs JSON)' });

const Index = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

const InclusionProof = z
  .object({
    logIndex: z.string(),
    rootHash: z.string(),
    treeSize: z.string(),
    hashes: z.array(z.string()),
    checkpoint: z.object({ envelope: z.string() }),
  })
  .openapi('InclusionProof');

const LogEntry = z
  .object({
    logIndex: z.string(),
    logId: z.object({ keyId: z.string() }),
    kindVersion: z.object({ kind: z.string(), version: z.string() }),
    integratedTime: z.string(),
    inclusionPromise: z.object({ signedEntryTimestamp: z.string() }),
    inclusionProof: InclusionProof,
    canonicalizedBody: z.string(),
    body: z.unknown().openapi({ description: 'canonicalizedBody decoded' }),
    attestationId: z.string(),
  })
  .openapi('LogEntry');

const Consistency = z
  .object({
    from: z.number().int(),
    to: z.number().int(),
    hashes: z.array(z.string()),
    fromCheckpoint: z.string(),
    toCheckpoint: z.string(),
  })
  .openapi('ConsistencyProof');

export function logRoutes(deps: Pick<Deps, 'log' | 'trustedRoot'>) {
  const app = router();

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/trust/root',
      summary: 'The Sigstore TrustedRoot: every CA and log key waybill signs with',
      responses: {
        200: { description: 'trusted root', content: { [TRUSTED_ROOT_MEDIA_TYPE]: { schema: TrustedRoot } } },
      },
    }),
    (c) => indentedJson(c, deps.trustedRoot, TRUSTED_ROOT_MEDIA_TYPE),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/log/checkpoint',
      summary: 'The latest signed checkpoint (C2SP signed note)',
      responses: { 200: { description: 'checkpoint', content: { 'text/plain': { schema: z.string() } } } },
    }),
    async (c) => c.text((await deps.log.checkpoint()).note, 200, { 'cache-control': 'no-store' }),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/log/entries/{index}',
      summary: 'A log entry with an inclusion proof against the latest checkpoint',
      request: { params: z.object({ index: Index }) },
      responses: {
        200: jsonResponse('entry', LogEntry),
        ...problemResponses(400, 404),
      },
    }),
    async (c) => {
      const { index } = c.req.valid('param');
      const found = await deps.log.entryWithAttestation(index);
      if (!found) throw new AppError('NOT_FOUND', `no log entry at index ${index}`);
      const body = JSON.parse(Buffer.from(found.entry.canonicalizedBody, 'base64').toString('utf8')) as unknown;
      return c.json({ ...found.entry, body, attestationId: found.attestationId }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/log/proof/consistency',
      summary: 'RFC 6962 consistency proof between two signed checkpoints',
      request: { query: z.object({ from: Index.min(1), to: Index.min(1) }) },
      responses: {
        200: jsonResponse('proof', Consistency),
        ...problemResponses(400, 404),
      },
    }),
    async (c) => {
      const { from, to } = c.req.valid('query');
      if (from > to) throw new AppError('VALIDATION_FAILED', '`from` must not exceed `to`');
      const proof = await deps.log.consistency(from, to);
      if (!proof) throw new AppError('NOT_FOUND', `no signed checkpoint for tree size ${from} or ${to}`);
      return c.json(
        { from, to, hashes: proof.hashes, fromCheckpoint: proof.from.note, toCheckpoint: proof.to.note },
        200,
      );
    },
  );
  return app;
}
