import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { admitPrincipal, authenticateCounted, requireTenantAccess } from '../auth/access.ts';
import { credentialsOf } from '../auth/credentials.ts';
import type { TenantHandle } from '../auth/principal.ts';
import type { TenantScope } from '../auth/scopes.ts';
import type { TenantRole } from '../db/tables.ts';
import type { AppServices } from '../system/services.ts';
import { toAppError } from '../trpc/to-app-error.ts';
import { toErrorBody } from '../errors/app-error.ts';

export interface TenantRequest {
  tenant: TenantHandle;
  keyId: string;
}

/**
 * Plain Express routes for what JSON procedures cannot carry (streamed file uploads
 * and downloads), with the same authentication, rate limits, scopes, role checks and
 * error bodies as every tRPC/REST operation.
 */
export function tenantRoute(
  services: AppServices,
  access: { scopes: TenantScope[]; role?: TenantRole },
  handler: (req: Request, res: Response, caller: TenantRequest) => Promise<void>,
): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    const headers = { set: (name: string, value: string) => res.setHeader(name, value) };
    try {
      const principal = await authenticateCounted(services, credentialsOf(req, services.config.portal.secureCookies), req.ip ?? 'unknown', headers);
      await admitPrincipal(services, principal, headers);
      const caller = requireTenantAccess(principal, access.scopes, access.role);
      req.log = req.log.child({ keyId: caller.keyId });
      await handler(req, res, caller);
    } catch (error) {
      if (res.headersSent) {
        // A download already under way cannot change its status: cut it so the client sees it incomplete.
        req.log.error({ err: error }, 'streamed response failed');
        res.destroy();
        return;
      }
      next(error);
    }
  };
}

/** Sends an error body the same way the app's error handler does (for handlers that answer before draining a body). */
export function sendError(req: Request, res: Response, error: unknown): void {
  const appError = toAppError(error);
  res.status(appError.httpStatus).json(toErrorBody(appError, req.requestId));
}
