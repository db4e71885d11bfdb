import { ERROR_CODES, type ErrorCode } from './error-codes.ts';

export type ErrorDetails = Record<string, unknown>;

/**
 * The one error type domain code throws. `code` is a stable reason from ERROR_CODES;
 * `message` is written for the person reading it; `details` carries machine-readable
 * context (never secrets: it is sent to the client verbatim).
 */
export class AppError extends Error {
  override readonly name = 'AppError';

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: ErrorDetails = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  get httpStatus(): number {
    return ERROR_CODES[this.code].httpStatus;
  }
}

/** The body every client gets for an error, on REST and (as `error.data`) on tRPC. */
export interface ErrorBody {
  code: ErrorCode;
  message: string;
  details: ErrorDetails;
  requestId?: string;
}

export function toErrorBody(error: AppError, requestId?: string): ErrorBody {
  return { code: error.code, message: error.message, details: error.details, ...(requestId ? { requestId } : {}) };
}
