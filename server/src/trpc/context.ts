import type { Request, Response } from 'express';
import { nanoid } from 'nanoid';
import type { Logger } from '../logging/logger.ts';
import type { AppServices } from '../system/services.ts';

export interface RequestContext {
  services: AppServices;
  requestId: string;
  log: Logger;
  clientIp: string;
  authorization: string | undefined;
  /** Response headers a procedure may set (rate-limit state, Retry-After). */
  headers: { set(name: string, value: string): void };
}

/**
 * The context without HTTP: tests and scripts call procedures through createCaller
 * with this, exactly as a request would reach them.
 */
export function createInnerContext(
  services: AppServices,
  request: { authorization?: string | undefined; clientIp?: string; requestId?: string } = {},
): RequestContext {
  const requestId = request.requestId ?? nanoid();
  return {
    services,
    requestId,
    log: services.logger.child({ requestId }),
    clientIp: request.clientIp ?? '127.0.0.1',
    authorization: request.authorization,
    headers: { set: () => {} },
  };
}

export function createContextFactory(services: AppServices) {
  return ({ req, res }: { req: Request; res: Response }): RequestContext => ({
    services,
    requestId: req.requestId,
    log: req.log,
    clientIp: req.ip ?? req.socket.remoteAddress ?? 'unknown',
    authorization: req.headers.authorization,
    headers: { set: (name, value) => void res.setHeader(name, value) },
  });
}
