// One error type for everything the service reports to a caller. The code set is closed and
// each code has exactly one HTTP status, so a route can never invent an ad-hoc status and
// clients can switch on `code` rather than parse messages.

export const ERROR_STATUS = {
  VALIDATION_FAILED: 400,
  MALFORMED_JSON: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  VERIFICATION_FAILED: 422,
  NOT_READY: 503,
  INTERNAL: 500,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof ERROR_STATUS;

const TITLES: Record<ErrorCode, string> = {
  VALIDATION_FAILED: 'Request validation failed',
  MALFORMED_JSON: 'Malformed JSON body',
  UNAUTHENTICATED: 'Authentication required',
  FORBIDDEN: 'Forbidden',
  NOT_FOUND: 'Not found',
  METHOD_NOT_ALLOWED: 'Method not allowed',
  CONFLICT: 'Conflict',
  PAYLOAD_TOO_LARGE: 'Payload too large',
  UNSUPPORTED_MEDIA_TYPE: 'Unsupported media type',
  VERIFICATION_FAILED: 'Verification failed',
  NOT_READY: 'Service not ready',
  INTERNAL: 'Internal error',
};

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
    return ERROR_STATUS[this.code];
  }

  get title(): string {
    return TITLES[this.code];
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

// RFC 9457 body. Internal errors never carry their message out: it may hold a secret or a
// connection string; the request id lets an operator find the full error in the log.
export function toProblem(err: AppError, requestId?: string): Problem {
  const problem: Problem = {
    type: `https://waybill.dev/problems/${err.code.toLowerCase().replaceAll('_', '-')}`,
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
