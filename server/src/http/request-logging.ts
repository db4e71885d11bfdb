import type { NextFunction, Request, Response } from 'express';
import { nanoid } from 'nanoid';
import type { Logger } from '../logging/logger.ts';
import { runInRequestScope } from './request-scope.ts';

const INCOMING_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Gives every request an id (the caller's X-Request-Id when well-formed, else a new
 * one), echoes it back, and logs one line when the response is done. Only the path is
 * logged: query strings and bodies can carry customer data.
 */
export function requestLogging(logger: Logger) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const incoming = req.header('x-request-id');
    req.requestId = incoming && INCOMING_REQUEST_ID.test(incoming) ? incoming : nanoid();
    req.log = logger.child({ requestId: req.requestId });
    res.setHeader('X-Request-Id', req.requestId);
    const started = process.hrtime.bigint();
    // 'close' fires for finished and for cut-off responses alike; the latter are logged
    // as aborted (client went away, or the shutdown timeout closed the connection).
    res.on('close', () => {
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      const aborted = !res.writableFinished;
      const line = { method: req.method, path: loggablePath(req.originalUrl.split('?')[0] ?? ''), status: res.statusCode, durationMs: Math.round(durationMs * 10) / 10, ...(aborted && { aborted }) };
      if (aborted) req.log.warn(line, 'request aborted');
      else if (res.statusCode >= 500) req.log.error(line, 'request failed');
      else req.log.info(line, 'request');
    });
    runInRequestScope(req.requestId, next);
  };
}

/** Invitation links carry their secret in the path: it is logged as `…`. */
export function loggablePath(path: string): string {
  return path.replace(/^(\/portal\/invite\/|\/auth\/invitations\/)(?!accept$)[^/]+/, '$1…');
}
