import type { Request, Response } from 'express';
import { credentialsOf, type RequestCredentials } from '../auth/credentials.ts';
import type { Principal } from '../auth/principal.ts';
import type { Logger } from '../logging/logger.ts';
import type { AppServices } from '../system/services.ts';

export interface RequestContext {
  services: AppServices;
  requestId: string;
  log: Logger;
  clientIp: string;
  /** The API key or portal session the request carries. */
  credentials: RequestCredentials;
  /**
   * Response headers procedures ask for (rate-limit state, Retry-After). The adapters'
   * responseMeta writes them, so nothing touches the response after a streamed batch
   * has started.
   */
  responseHeaders: Map<string, string>;
  /** The Idempotency-Key header, for operations that require one. */
  idempotencyKey: string | undefined;
  /** One authentication per HTTP request, shared by every call of a tRPC batch. */
  authentication: { principal?: Promise<Principal> };
}

export function createContextFactory(services: AppServices) {
  return ({ req }: { req: Request; res: Response }): RequestContext => ({
    services,
    requestId: req.requestId,
    log: req.log,
    clientIp: req.ip ?? req.socket.remoteAddress ?? 'unknown',
    credentials: credentialsOf(req, services.config.portal.secureCookies),
    idempotencyKey: req.header('idempotency-key'),
    responseHeaders: new Map(),
    authentication: {},
  });
}
