import type { NextFunction, Request, Response } from 'express';
import type { ErrorBody } from '../errors/app-error.ts';

/**
 * trpc-to-openapi writes error bodies as `{ ...errorShape, code: <tRPC code> }`; our
 * formatter already put the client-facing `{ code, message, details, requestId }` in
 * errorShape.data. This swaps the body for that object so REST clients get exactly
 * what tRPC clients find in error.data. It touches only JSON error responses.
 */
export function restErrorBodies(req: Request, res: Response, next: NextFunction): void {
  const end = res.end.bind(res) as (...args: unknown[]) => Response;
  res.end = ((chunk?: unknown, ...rest: unknown[]) => {
    if (res.statusCode >= 400 && typeof chunk === 'string' && chunk.startsWith('{')) {
      try {
        const data = (JSON.parse(chunk) as { data?: ErrorBody & { httpStatus?: number; path?: string } }).data;
        if (data && typeof data.code === 'string') {
          const { code, message, details, requestId } = data;
          chunk = JSON.stringify({ code, message, details, requestId: requestId ?? req.requestId });
        }
      } catch {
        // Not one of ours; leave it as written.
      }
    }
    return end(chunk, ...rest);
  }) as Response['end'];
  next();
}

/**
 * Action endpoints such as `POST /v1/api-keys/{id}/revoke` take no body, and clients
 * commonly send none and no Content-Type. Treat exactly that case as an empty JSON
 * object; a body without a JSON Content-Type is still refused with 415.
 */
export function emptyBodyIsEmptyJson(req: Request, _res: Response, next: NextFunction): void {
  const hasBody = req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0';
  if (req.method !== 'GET' && req.method !== 'HEAD' && !req.headers['content-type'] && !hasBody) {
    req.headers['content-type'] = 'application/json';
    req.body = {};
  }
  next();
}
