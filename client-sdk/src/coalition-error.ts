import { TRPCClientError } from '@trpc/client';
import type { AppRouter, ErrorCode } from './app-router.ts';
import type { ErrorData } from './router-surface.ts';

/**
 * Failures that happen before the server could answer with a reason of its own:
 * NETWORK_ERROR (no answer: connection refused or reset, DNS, timeout), ABORTED (the
 * caller's signal), UNEXPECTED_RESPONSE (an answer that is not the API's, e.g. a proxy's
 * HTML page). A gateway's 502/503/504 page reads as SERVICE_UNAVAILABLE and a bare 429
 * as RATE_LIMITED, the codes the server itself uses for those.
 */
export type ClientErrorCode = 'NETWORK_ERROR' | 'ABORTED' | 'UNEXPECTED_RESPONSE';

export type CoalitionErrorCode = ErrorCode | ClientErrorCode;

/** What the link knows about a failed call beyond the error body: see coalition-link.ts. */
export interface FailedCallMeta {
  response?: Response;
  attempts?: number;
  aborted?: boolean;
}

const GATEWAY_STATUSES = new Set([502, 503, 504]);

/**
 * Every failed call of a client from `createClient` throws this. Branch on `code`, the
 * stable reason (docs/errors.md); `details` holds its machine-readable context (for
 * VALIDATION_FAILED, `details.issues`). Quote `requestId` when you ask for support.
 */
export class CoalitionError extends Error {
  override readonly name = 'CoalitionError';
  readonly code: CoalitionErrorCode;
  /** The HTTP status of the answer; null when none came (NETWORK_ERROR, ABORTED). */
  readonly httpStatus: number | null;
  readonly details: Record<string, unknown>;
  readonly requestId: string | undefined;
  /** HTTP requests made for this call, retries included. */
  readonly attempts: number;

  constructor(
    fields: { code: CoalitionErrorCode; message: string; httpStatus: number | null; details?: Record<string, unknown>; requestId?: string | undefined; attempts?: number },
    options?: { cause?: unknown },
  ) {
    super(fields.message, options);
    this.code = fields.code;
    this.httpStatus = fields.httpStatus;
    this.details = fields.details ?? {};
    this.requestId = fields.requestId;
    this.attempts = fields.attempts ?? 1;
  }

  /** The CoalitionError behind a failed tRPC call (kept as `cause`). */
  static fromTRPCClientError(error: TRPCClientError<AppRouter>): CoalitionError {
    const meta = (error.meta ?? {}) as FailedCallMeta;
    const response = meta.response;
    const attempts = meta.attempts ?? 1;
    const requestId = response?.headers.get('x-request-id') ?? undefined;
    // Absent when the answer was not an API error body.
    const data = error.data as Partial<ErrorData> | undefined;
    if (data && typeof data.code === 'string') {
      return new CoalitionError(
        {
          code: data.code,
          message: error.message,
          httpStatus: typeof data.httpStatus === 'number' ? data.httpStatus : (response?.status ?? null),
          details: data.details ?? {},
          requestId: data.requestId ?? requestId,
          attempts,
        },
        { cause: error },
      );
    }
    if (meta.aborted) return new CoalitionError({ code: 'ABORTED', message: 'The call was aborted.', httpStatus: null, attempts }, { cause: error });
    if (!response) {
      return new CoalitionError({ code: 'NETWORK_ERROR', message: `No answer from the server: ${error.message}`, httpStatus: null, attempts }, { cause: error });
    }
    const code = GATEWAY_STATUSES.has(response.status) ? 'SERVICE_UNAVAILABLE' : response.status === 429 ? 'RATE_LIMITED' : 'UNEXPECTED_RESPONSE';
    return new CoalitionError(
      { code, message: `HTTP ${response.status} ${response.statusText} without an API error body`.replace(/ +/g, ' '), httpStatus: response.status, requestId, attempts },
      { cause: error },
    );
  }
}

/** Type guard that also narrows the code: `isCoalitionError(error, 'ALREADY_REDEEMED')`. */
export function isCoalitionError<C extends CoalitionErrorCode>(error: unknown, ...codes: C[]): error is CoalitionError & { code: C } {
  return error instanceof CoalitionError && (codes.length === 0 || (codes as CoalitionErrorCode[]).includes(error.code));
}
