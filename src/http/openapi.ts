// Shared OpenAPI pieces: the router factory with our validation hook, and common schemas.
import { OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler, TypedResponse } from 'hono';
import type { JSONParsed } from 'hono/utils/types';
import { AppError, ERROR_CODES, fieldErrors, invalidDetail, messageOf } from '../errors.ts';
import { normalizeDigest } from '../intoto/statement.ts';
import { ENVIRONMENT_NAME } from '../policy/environments.ts';

export { z };

/** A router whose validation failures become VALIDATION_FAILED problems listing every field. */
export function router(): OpenAPIHono {
  return new OpenAPIHono({
    defaultHook: (result, c) => {
      if (!result.success) {
        const errors = fieldErrors(result.error.issues);
        throw new AppError('VALIDATION_FAILED', invalidDetail(result.target, errors), { errors });
      }
      void c;
    },
  });
}

export const ProblemSchema = z
  .object({
    type: z.string().openapi({ description: 'the page explaining `code`: <issuer>/problems/<code>' }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.enum(ERROR_CODES).openapi({ description: 'the closed set of error codes; see `type`' }),
    requestId: z.string().optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi('Problem');

export const problemResponses = (...statuses: number[]) =>
  Object.fromEntries(
    statuses.map((s) => [
      s,
      { description: 'Problem', content: { 'application/problem+json': { schema: ProblemSchema } } },
    ]),
  );

const bearerSecurity = [{ bearer: [] as string[] }];

/** A route behind a bearer token: its OpenAPI security and the middleware that enforces it. */
export const behind = (...middleware: MiddlewareHandler[]) => ({ security: bearerSecurity, middleware });

/** A JSON request body, required. */
export const jsonBody = <S extends z.ZodType>(schema: S) => ({
  content: { 'application/json': { schema } },
  required: true,
});

/** A JSON response. */
export const jsonResponse = <S extends z.ZodType>(description: string, schema: S) => ({
  description,
  content: { 'application/json': { schema } },
});

/** One page of a list: the items and the cursor of the next page (null on the last). */
export const pageOf = <S extends z.ZodType>(item: S) =>
  z.object({ items: z.array(item), nextCursor: z.string().nullable() });

export const PageQuery = z.object({
  cursor: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

/** A digest in a path or body (`sha256:<hex>`, URL-encoded or not), normalised; bad ones are a 400. */
export const DigestParam = z
  .string()
  .max(200)
  .transform((v, ctx) => {
    try {
      return normalizeDigest(decodeURIComponent(v));
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: messageOf(err) });
      return z.NEVER;
    }
  })
  .openapi({ type: 'string', example: `sha256:${'a'.repeat(64)}` });

/** An environment name as policy files name them (`<name>.yaml`). */
export const EnvironmentName = z
  .string()
  .regex(ENVIRONMENT_NAME, 'an environment name: [a-z0-9-]+')
  .openapi({ type: 'string', example: 'staging' });

/**
 * `body` as indented JSON under its own JSON media type (evidence packs, the trusted root: files
 * people save and read). Typed as the JSON response the route declares; only the text differs.
 */
export function indentedJson<T>(c: Context, body: T, mediaType: string): TypedResponse<JSONParsed<T>, 200, 'json'> {
  const res = c.body(JSON.stringify(body, null, 2), 200, { 'content-type': mediaType });
  return res as unknown as TypedResponse<JSONParsed<T>, 200, 'json'>;
}
