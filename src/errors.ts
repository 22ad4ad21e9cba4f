// One error type for everything the service reports to a caller. The code set is closed and
// each code has exactly one HTTP status, so a route can never invent an ad-hoc status and
// clients can switch on `code` rather than parse messages.

// Each code with its status, its problem title, and what it means to a caller: the table that
// `/problems/{code}` and docs/problems.md are made from.
export const ERRORS = {
  VALIDATION_FAILED: {
    status: 400,
    title: 'Request validation failed',
    description:
      'A field of the request (body, path, query or header) is missing or invalid. `errors` lists every bad ' +
      'field with its JSON pointer and what is wrong; nothing was stored or signed.',
  },
  MALFORMED_JSON: {
    status: 400,
    title: 'Malformed JSON body',
    description: 'The request body is not valid JSON. Nothing was stored or signed.',
  },
  UNAUTHENTICATED: {
    status: 401,
    title: 'Authentication required',
    description:
      'The request has no `Authorization: Bearer <token>` header, or the token is unknown, expired or revoked ' +
      '(the answer does not say which).',
  },
  FORBIDDEN: {
    status: 403,
    title: 'Forbidden',
    description:
      'The token is valid but its roles do not allow this request (for example a tester submitting provenance, ' +
      "or an exception's requester approving it).",
  },
  NOT_FOUND: {
    status: 404,
    title: 'Not found',
    description: 'No such route, or nothing is stored under the id, digest or environment the request names.',
  },
  METHOD_NOT_ALLOWED: {
    status: 405,
    title: 'Method not allowed',
    description: 'The route exists but not with this HTTP method.',
  },
  CONFLICT: {
    status: 409,
    title: 'Conflict',
    description:
      'The request contradicts what is stored: an Idempotency-Key reused with another request, a deployment ' +
      'under a verdict that is for another digest or environment, denied or expired, an exception approved twice ' +
      'or no longer pending.',
  },
  PAYLOAD_TOO_LARGE: {
    status: 413,
    title: 'Payload too large',
    description: 'The request body is larger than the configured limit (`WAYBILL_BODY_LIMIT`).',
  },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    title: 'Unsupported media type',
    description: 'A request with a body must send it as `application/json`.',
  },
  VERIFICATION_FAILED: {
    status: 422,
    title: 'Verification failed',
    description:
      'The request is well-formed but what it asks waybill to trust does not hold: a bundle that does not verify ' +
      'against the configured trust, or a rebuild exception for digests that are not a rebuild of each other.',
  },
  NOT_READY: {
    status: 503,
    title: 'Service not ready',
    description: 'The database does not answer or is not migrated yet (`GET /readyz`). Retry later.',
  },
  INTERNAL: {
    status: 500,
    title: 'Internal error',
    description:
      'Something failed inside waybill. The answer carries no detail (it could hold a secret); the `requestId` ' +
      "finds the full error in the server's log.",
  },
} as const satisfies Record<string, { status: number; title: string; description: string }>;

export type ErrorCode = keyof typeof ERRORS;

/** Every error code, in the table's order. */
export const ERROR_CODES = Object.keys(ERRORS) as [ErrorCode, ...ErrorCode[]];

/** A code as it appears in a problem type URL: `VALIDATION_FAILED` -> `validation-failed`. */
export function problemSlug(code: ErrorCode): string {
  return code.toLowerCase().replaceAll('_', '-');
}

/** The code a problem type URL's last segment names, if any. */
export function codeOfSlug(slug: string): ErrorCode | undefined {
  return ERROR_CODES.find((c) => problemSlug(c) === slug);
}

export interface FieldError {
  path: string;
  message: string;
}

/** Zod issues as { path, message } with a JSON-pointer-like dotted path. */
export function fieldErrors(
  issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>,
): FieldError[] {
  return issues.map((i) => ({
    path: i.path.length ? `/${i.path.map(String).join('/')}` : '/',
    message: i.message,
  }));
}

const PARTS: Record<string, string> = {
  json: 'the request body',
  query: 'the query string',
  param: 'the path',
  header: 'a request header',
  form: 'the form',
};

/**
 * A VALIDATION_FAILED detail that says what is wrong, e.g. "the request body is not valid:
 * /digest: expected a string (and 1 more problem)": the first field, then how many more.
 */
export function invalidDetail(part: string, errors: readonly FieldError[]): string {
  const [first, ...rest] = errors;
  const more = rest.length ? ` (and ${rest.length} more problem${rest.length === 1 ? '' : 's'})` : '';
  return `${PARTS[part] ?? part} is not valid${first ? `: ${first.path}: ${first.message}` : ''}${more}`;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly errors: FieldError[] | undefined;

  constructor(code: ErrorCode, message: string, opts: { errors?: FieldError[]; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.name = 'AppError';
    this.code = code;
    this.errors = opts.errors;
  }

  get status(): number {
    return ERRORS[this.code].status;
  }

  get title(): string {
    return ERRORS[this.code].title;
  }
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  instance?: string;
  requestId?: string;
  errors?: FieldError[];
}

// RFC 9457 body; `type` is the page that explains the code (`GET <issuer>/problems/<code>`).
// Internal errors never carry their message out: it may hold a secret or a connection string;
// the request id lets an operator find the full error in the log.
export function toProblem(err: AppError, opts: { issuer: string; requestId?: string | undefined }): Problem {
  const { requestId } = opts;
  const problem: Problem = {
    type: `${opts.issuer}/problems/${problemSlug(err.code)}`,
    title: err.title,
    status: err.status,
    detail: err.code === 'INTERNAL' ? 'an internal error occurred; see the server log' : err.message,
    code: err.code,
  };
  if (requestId) problem.requestId = requestId;
  if (err.errors && err.errors.length > 0) problem.errors = err.errors;
  return problem;
}

/** The message of anything thrown, for logs and problem details. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
