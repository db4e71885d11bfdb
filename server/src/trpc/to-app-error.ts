import { TRPCError } from '@trpc/server';
import { AppError } from '../errors/app-error.ts';
import { validationError } from '../errors/validation.ts';

interface ZodLikeIssue {
  path: PropertyKey[];
  message: string;
  code?: string;
}

function zodIssues(cause: unknown): ZodLikeIssue[] | null {
  const candidate = cause as { name?: string; issues?: unknown } | null;
  return candidate?.name === 'ZodError' && Array.isArray(candidate.issues) ? (candidate.issues as ZodLikeIssue[]) : null;
}

/**
 * Every error a client sees goes through here: domain AppErrors pass unchanged, the
 * transport's own errors get their reason code, and anything unexpected becomes an
 * INTERNAL_ERROR whose message discloses nothing.
 */
/** Errors of Express's JSON body parser (body-parser), by their `type`. */
function bodyParserError(error: unknown): AppError | null {
  switch ((error as { type?: unknown } | null)?.type) {
    case 'entity.too.large':
      return new AppError('PAYLOAD_TOO_LARGE', 'The request body is larger than this server accepts.');
    case 'entity.parse.failed':
      return new AppError('MALFORMED_JSON', 'The request body (or tRPC input parameter) is not valid JSON.');
    case 'charset.unsupported':
    case 'encoding.unsupported':
      return new AppError('UNSUPPORTED_MEDIA_TYPE', 'Send the request body as UTF-8 application/json.');
    default:
      return null;
  }
}

/**
 * Express's own client errors: an http-error with a 4xx status and `expose` set, or the
 * router's URIError (status 400) for a path parameter that is not valid
 * percent-encoding. They are the caller's, not ours.
 */
function expressClientError(error: unknown): AppError | null {
  const candidate = error as { status?: unknown; expose?: unknown } | null;
  if (typeof candidate?.status !== 'number' || candidate.status < 400 || candidate.status > 499) return null;
  if (candidate.expose !== true && !(error instanceof URIError)) return null;
  if (candidate.status === 404) return new AppError('ROUTE_NOT_FOUND', 'No route at this path.');
  return validationError([{ path: [], message: 'the request path or parameters could not be read (malformed percent-encoding?)' }]);
}

export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  const parserError = bodyParserError(error) ?? expressClientError(error);
  if (parserError) return parserError;
  if (isBackingServiceOutage(error)) return serviceUnavailable(error);
  if (!(error instanceof TRPCError)) return internalError(error);
  if (error.cause instanceof AppError) return error.cause;
  if (error.cause instanceof SyntaxError) return new AppError('MALFORMED_JSON', 'The request body is not valid JSON.');

  // Only input validation is the caller's fault: a zod error behind any other code is
  // our own output failing its schema, which is an internal error.
  const issues = error.code === 'BAD_REQUEST' ? zodIssues(error.cause) : null;
  if (issues) return validationError(issues);
  switch (error.code) {
    case 'PARSE_ERROR':
      return new AppError('MALFORMED_JSON', 'The request body (or tRPC input parameter) is not valid JSON.');
    case 'PAYLOAD_TOO_LARGE':
      return new AppError('PAYLOAD_TOO_LARGE', 'The request body is larger than this server accepts.');
    case 'UNSUPPORTED_MEDIA_TYPE':
      return new AppError('UNSUPPORTED_MEDIA_TYPE', 'Send the request body as application/json.');
    case 'NOT_FOUND':
      return new AppError('ROUTE_NOT_FOUND', 'No operation exists at this path.');
    case 'METHOD_NOT_SUPPORTED':
      return new AppError('METHOD_NOT_ALLOWED', `This operation does not accept this HTTP method. ${error.message}`);
    case 'BAD_REQUEST':
      return new AppError('VALIDATION_FAILED', error.message, { issues: [] });
    default:
      return internalError(error);
  }
}

// Connection-level failures: refused, reset, pool checkout timeouts, and the SQLSTATEs
// of a server that is shutting down or full.
const OUTAGE_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);
// Class 08 is "connection exception"; 57P0x are shutdowns, 53300 too many connections.
const OUTAGE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300']);
const OUTAGE_MESSAGES = [/timeout exceeded when trying to connect/i, /Connection terminated/i, /Connection is closed/i];

function isBackingServiceOutage(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 5; current = (current as { cause?: unknown }).cause, depth += 1) {
    const candidate = current as { code?: unknown; message?: unknown; errors?: unknown };
    const code = candidate.code;
    if (typeof code === 'string' && (OUTAGE_ERRNOS.has(code) || OUTAGE_SQLSTATES.has(code) || /^08[0-9A-Z]{3}$/.test(code))) return true;
    if (typeof candidate.message === 'string' && OUTAGE_MESSAGES.some((pattern) => pattern.test(candidate.message as string))) return true;
    // Node reports a refused dual-stack connect as an AggregateError of per-address errors.
    if (Array.isArray(candidate.errors) && candidate.errors.some(isBackingServiceOutage)) return true;
  }
  return false;
}

function serviceUnavailable(cause: unknown): AppError {
  return new AppError('SERVICE_UNAVAILABLE', 'A backing service is unreachable right now. Retry with backoff.', {}, { cause });
}

function internalError(cause: unknown): AppError {
  return new AppError('INTERNAL_ERROR', 'An unexpected error occurred. The operator can find it in the logs by its requestId.', {}, { cause });
}
