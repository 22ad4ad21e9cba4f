// The Fulcio- and Rekor-compatible API, so stock Sigstore clients sign against waybill:
//   Fulcio v2  POST /api/v2/signingCert, GET /api/v2/trustBundle, GET /api/v2/configuration
//   Fulcio v1  POST /api/v1/signingCert (the legacy API cosign 2 calls; untested with cosign)
//   Rekor v1   POST /api/v1/log/entries, GET /api/v1/log/entries?logIndex=N,
//              GET /api/v1/log/entries/{uuid}, GET /api/v1/log, GET /api/v1/log/publicKey
// Errors here take the upstream APIs' shapes, which their clients parse: Rekor's
// `{"code": <HTTP status>, "message"}` and Fulcio's gRPC-gateway `{"code": <gRPC code>,
// "message", "details": []}`, as application/json (docs/decisions.md).
import { createRoute } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { Logger } from 'pino';
import type { Deps } from '../../deps.ts';
import { AppError } from '../../errors.ts';
import { EntryExistsError, type LoggedEntry } from '../../services/sigstore.ts';
import { fromBase64Strict } from '../../util/encoding.ts';
import { requireJson } from '../middleware.ts';
import { router, z } from '../openapi.ts';
import { toAppError } from '../problem.ts';

// google.rpc.Code for each of our statuses (Fulcio answers through grpc-gateway).
const GRPC_CODE: Record<number, number> = { 400: 3, 401: 16, 403: 7, 404: 5, 409: 6, 413: 8, 415: 3, 422: 9, 503: 14 };

function upstreamError(style: 'rekor' | 'fulcio', logger: Logger) {
  return (err: Error, c: Context) => {
    const e = toAppError(err);
    if (e.code === 'INTERNAL') logger.error({ err, requestId: c.get('requestId') }, 'unhandled error');
    const message = e.code === 'INTERNAL' ? 'internal error; see the server log' : detailOf(e);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (e instanceof EntryExistsError) headers.location = `/api/v1/log/entries/${e.uuid}`;
    const body =
      style === 'rekor'
        ? { code: e.status, message }
        : { code: GRPC_CODE[e.status] ?? 13, message, details: [] as unknown[] };
    return c.body(JSON.stringify(body), e.status as 400, headers);
  };
}

// The problem's field errors belong in the one message these APIs have.
function detailOf(e: AppError): string {
  return e.errors?.length ? `${e.message}: ${e.errors.map((f) => `${f.path} ${f.message}`).join('; ')}` : e.message;
}

const bearerOf = (c: Context): string | undefined => /^Bearer (\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1];

const CertificateChain = z.object({ certificates: z.array(z.string()) });
const SigningCertRequest = z
  .object({
    credentials: z.object({ oidcIdentityToken: z.string().min(1).max(16_384) }).optional(),
    publicKeyRequest: z
      .object({
        publicKey: z.object({ algorithm: z.string().optional(), content: z.string().min(1).max(16_384) }),
        proofOfPossession: z.string().min(1).max(4096),
      })
      .optional(),
    certificateSigningRequest: z.string().min(1).max(32_768).optional(),
  })
  .openapi('FulcioSigningCertRequest');
const LegacySigningCertRequest = z
  .object({
    publicKey: z.object({ algorithm: z.string().optional(), content: z.string().min(1).max(16_384) }),
    signedEmailAddress: z.string().min(1).max(4096),
  })
  .openapi('FulcioLegacySigningCertRequest');

const RekorLogEntry = z
  .record(
    z.string(),
    z.object({
      body: z.string(),
      integratedTime: z.number().int(),
      logID: z.string(),
      logIndex: z.number().int(),
      verification: z.object({
        inclusionProof: z.object({
          checkpoint: z.string(),
          hashes: z.array(z.string()),
          logIndex: z.number().int(),
          rootHash: z.string(),
          treeSize: z.number().int(),
        }),
        signedEntryTimestamp: z.string(),
      }),
    }),
  )
  .openapi('RekorLogEntry');

const upstreamErrorSchema = z.object({ code: z.number().int(), message: z.string() }).openapi('UpstreamError');
const errorsOf = (...statuses: number[]) =>
  Object.fromEntries(
    statuses.map((s) => [
      s,
      { description: 'error', content: { 'application/json': { schema: upstreamErrorSchema } } },
    ]),
  );

function base64Field(value: string, path: string): Uint8Array {
  const bytes = fromBase64Strict(value);
  if (!bytes)
    throw new AppError('VALIDATION_FAILED', 'invalid request', {
      errors: [{ path, message: 'must be standard base64' }],
    });
  return bytes;
}

/** A key sent as PEM text, or as base64 of PEM or of SPKI DER (Fulcio's legacy API takes either). */
function publicKeyPem(content: string, path: string): string {
  if (content.startsWith('-----BEGIN')) return content;
  const bytes = Buffer.from(base64Field(content, path));
  const text = bytes.toString('utf8');
  if (text.startsWith('-----BEGIN')) return text;
  return `-----BEGIN PUBLIC KEY-----\n${bytes
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n?$/, '\n')}-----END PUBLIC KEY-----\n`;
}

export function sigstoreRoutes(deps: Pick<Deps, 'sigstore' | 'logger' | 'keys'>) {
  const fulcio = router();
  fulcio.onError(upstreamError('fulcio', deps.logger));
  const rekor = router();
  rekor.onError(upstreamError('rekor', deps.logger));

  fulcio.openapi(
    createRoute({
      method: 'post',
      path: '/api/v2/signingCert',
      summary: 'Fulcio v2: a 10-minute code-signing certificate for a CI workload (OIDC ID token)',
      tags: ['sigstore'],
      middleware: [requireJson] as const,
      request: { body: { content: { 'application/json': { schema: SigningCertRequest } }, required: true } },
      responses: {
        201: {
          description: 'the certificate, then the CA chain',
          content: {
            'application/json': {
              schema: z.object({ signedCertificateEmbeddedSct: z.object({ chain: CertificateChain }) }),
            },
          },
        },
        ...errorsOf(400, 401, 403),
      },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const token = body.credentials?.oidcIdentityToken ?? bearerOf(c);
      if (!token) throw new AppError('UNAUTHENTICATED', 'an OIDC ID token is required (credentials.oidcIdentityToken)');
      const pk = body.publicKeyRequest;
      const chain = await deps.sigstore.signingCert({
        token,
        ...(body.certificateSigningRequest
          ? { csr: base64Field(body.certificateSigningRequest, '/certificateSigningRequest') }
          : {}),
        ...(pk
          ? {
              publicKeyPem: publicKeyPem(pk.publicKey.content, '/publicKeyRequest/publicKey/content'),
              proofOfPossession: base64Field(pk.proofOfPossession, '/publicKeyRequest/proofOfPossession'),
            }
          : {}),
      });
      return c.json({ signedCertificateEmbeddedSct: { chain: { certificates: chain } } }, 201);
    },
  );

  fulcio.openapi(
    createRoute({
      method: 'post',
      path: '/api/v1/signingCert',
      summary: 'Fulcio v1 (legacy): the same certificate, answered as a PEM chain',
      tags: ['sigstore'],
      middleware: [requireJson] as const,
      request: { body: { content: { 'application/json': { schema: LegacySigningCertRequest } }, required: true } },
      responses: {
        201: { description: 'PEM chain', content: { 'application/pem-certificate-chain': { schema: z.string() } } },
        ...errorsOf(400, 401, 403),
      },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const token = bearerOf(c);
      if (!token) throw new AppError('UNAUTHENTICATED', 'an OIDC ID token is required (Authorization: Bearer)');
      const chain = await deps.sigstore.signingCert({
        token,
        publicKeyPem: publicKeyPem(body.publicKey.content, '/publicKey/content'),
        proofOfPossession: base64Field(body.signedEmailAddress, '/signedEmailAddress'),
      });
      return c.body(chain.join(''), 201, { 'content-type': 'application/pem-certificate-chain' }) as never;
    },
  );

  fulcio.openapi(
    createRoute({
      method: 'get',
      path: '/api/v2/trustBundle',
      summary: "Fulcio v2: the CA chain waybill's certificates chain to",
      tags: ['sigstore'],
      responses: {
        200: {
          description: 'chains',
          content: { 'application/json': { schema: z.object({ chains: z.array(CertificateChain) }) } },
        },
      },
    }),
    (c) => c.json({ chains: [{ certificates: deps.sigstore.chainPem }] }, 200),
  );

  fulcio.openapi(
    createRoute({
      method: 'get',
      path: '/api/v2/configuration',
      summary: 'Fulcio v2: the OIDC issuers whose ID tokens waybill accepts',
      tags: ['sigstore'],
      responses: {
        200: {
          description: 'issuers',
          content: {
            'application/json': {
              schema: z.object({
                issuers: z.array(z.object({ issuerUrl: z.string(), audience: z.string(), challengeClaim: z.string() })),
              }),
            },
          },
        },
      },
    }),
    (c) =>
      c.json(
        {
          issuers: deps.sigstore.issuers.map((i) => ({
            issuerUrl: i.issuer,
            audience: i.audience,
            challengeClaim: 'sub',
          })),
        },
        200,
      ),
  );

  const answer = (c: Context, e: LoggedEntry, status: 200 | 201) =>
    c.json({ [e.uuid]: e.entry }, status, {
      etag: e.uuid,
      ...(status === 201 ? { location: `/api/v1/log/entries/${e.uuid}` } : {}),
    });

  rekor.openapi(
    createRoute({
      method: 'post',
      path: '/api/v1/log/entries',
      summary:
        'Rekor v1: log a dsse 0.0.1, hashedrekord 0.0.1 or intoto 0.0.2 entry signed under a waybill ' +
        "certificate; it is stored as the workload's attestation",
      tags: ['sigstore'],
      middleware: [requireJson] as const,
      request: {
        body: {
          content: { 'application/json': { schema: z.record(z.string(), z.unknown()).openapi('RekorProposedEntry') } },
          required: true,
        },
      },
      responses: {
        201: { description: 'logged', content: { 'application/json': { schema: RekorLogEntry } } },
        ...errorsOf(400, 403, 409, 422),
      },
    }),
    async (c) => answer(c, await deps.sigstore.createEntry(c.req.valid('json')), 201) as never,
  );

  rekor.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/log/entries',
      summary: 'Rekor v1: the entry at a log index',
      tags: ['sigstore'],
      request: { query: z.object({ logIndex: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER) }) },
      responses: {
        200: { description: 'the entry', content: { 'application/json': { schema: RekorLogEntry } } },
        ...errorsOf(400, 404),
      },
    }),
    async (c) => {
      const { logIndex } = c.req.valid('query');
      const e = await deps.sigstore.entryByIndex(logIndex);
      if (!e) throw new AppError('NOT_FOUND', `no log entry at index ${logIndex}`);
      return answer(c, e, 200) as never;
    },
  );

  rekor.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/log/entries/{entryUUID}',
      summary: 'Rekor v1: the entry with a UUID (leaf hash, optionally after the tree id)',
      tags: ['sigstore'],
      request: { params: z.object({ entryUUID: z.string().max(80) }) },
      responses: {
        200: { description: 'the entry', content: { 'application/json': { schema: RekorLogEntry } } },
        ...errorsOf(400, 404),
      },
    }),
    async (c) => {
      const e = await deps.sigstore.entryByUuid(c.req.valid('param').entryUUID);
      if (!e) throw new AppError('NOT_FOUND', 'no log entry with that UUID');
      return answer(c, e, 200) as never;
    },
  );

  rekor.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/log',
      summary: 'Rekor v1: the latest signed tree head',
      tags: ['sigstore'],
      responses: {
        200: {
          description: 'log info',
          content: {
            'application/json': {
              schema: z
                .object({
                  rootHash: z.string(),
                  treeSize: z.number().int(),
                  signedTreeHead: z.string(),
                  treeID: z.string(),
                  inactiveShards: z.array(z.unknown()),
                })
                .openapi('RekorLogInfo'),
            },
          },
        },
      },
    }),
    async (c) =>
      c.json({ ...(await deps.sigstore.logInfo()), inactiveShards: [] }, 200, { 'cache-control': 'no-store' }),
  );

  rekor.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/log/publicKey',
      summary: "Rekor v1: the log's public key (PEM)",
      tags: ['sigstore'],
      responses: { 200: { description: 'PEM', content: { 'application/x-pem-file': { schema: z.string() } } } },
    }),
    (c) =>
      c.body(deps.keys.log.publicKey.export({ type: 'spki', format: 'pem' }).toString(), 200, {
        'content-type': 'application/x-pem-file',
      }) as never,
  );

  return [fulcio, rekor];
}
