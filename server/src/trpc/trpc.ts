import { initTRPC } from '@trpc/server';
import { TRPC_ERROR_CODES_BY_KEY } from '@trpc/server/rpc';
import type { OpenApiMeta } from 'trpc-to-openapi';
import { authenticateApiKey } from '../auth/authenticate-api-key.ts';
import type { Principal, TenantHandle } from '../auth/principal.ts';
import type { TenantRole } from '../db/tables.ts';
import { hasScopes, type TenantScope } from '../auth/scopes.ts';
import { AppError, toErrorBody } from '../errors/app-error.ts';
import { ERROR_CODES } from '../errors/error-codes.ts';
import { currentRequestId } from '../http/request-scope.ts';
import type { RequestContext } from './context.ts';
import { toAppError } from './to-app-error.ts';

export type ProcedureAccess = 'public' | 'authenticated' | 'operator' | 'tenant';

export type ProcedureMeta = OpenApiMeta & {
  /** Set by the procedure builder; read by the OpenAPI document and the isolation tests. */
  access?: ProcedureAccess;
  /** Tenant procedures: scopes the key must hold (`admin` holds them all). Empty = any tenant key. */
  scopes?: TenantScope[];
  /** Tenant procedures that belong to one side of the exchange. */
  role?: TenantRole;
};

const t = initTRPC
  .context<RequestContext>()
  .meta<ProcedureMeta>()
  .create({
    // One error body for every client: tRPC clients read it as error.data, the REST
    // face (see http/rest-errors.ts) sends the same object as the response body.
    errorFormatter({ shape, error, ctx }) {
      const appError = toAppError(error);
      return {
        message: appError.message,
        // The JSON-RPC number of the reason's tRPC code (error.shape.code on the client);
        // the stable reason itself is data.code.
        code: TRPC_ERROR_CODES_BY_KEY[ERROR_CODES[appError.code].trpc],
        data: { ...toErrorBody(appError, ctx?.requestId ?? currentRequestId()), httpStatus: appError.httpStatus, path: shape.data.path },
      };
    },
  });

export const router = t.router;

const rateLimitByIp = t.middleware(async ({ ctx, next }) => {
  await ctx.services.rateLimits.consumeForIp(ctx.clientIp, ctx.responseHeaders);
  return next();
});

/**
 * Resolves the caller's key once per HTTP request (a tRPC batch shares it). A failed
 * attempt counts once against the caller's address, so guessing keys gets a 429.
 */
function authenticateOnce(ctx: RequestContext): Promise<Principal> {
  ctx.authentication.principal ??= authenticateApiKey(ctx.services.db, ctx.authorization).catch(async (error: unknown) => {
    if (error instanceof AppError && error.code === 'UNAUTHENTICATED') await ctx.services.rateLimits.consumeForIp(ctx.clientIp, ctx.responseHeaders);
    throw error;
  });
  return ctx.authentication.principal;
}

const authenticate = t.middleware(async ({ ctx, next }) => {
  const principal = await authenticateOnce(ctx);
  // Every call counts, a batched one too; a suspended tenant's calls as well.
  const tenantLimit = principal.kind === 'tenant' ? principal.tenant.rateLimitPerMinute : null;
  await ctx.services.rateLimits.consumeForKey(principal.keyId, tenantLimit, ctx.responseHeaders);
  if (principal.kind === 'tenant' && principal.tenant.status === 'suspended') {
    throw new AppError('TENANT_SUSPENDED', `Tenant ${principal.tenant.slug} is suspended. Contact the coalition operator.`, { tenant: principal.tenant.slug });
  }
  return next({ ctx: { principal, log: ctx.log.child({ keyId: principal.keyId }) } });
});

export const publicProcedure = t.procedure.meta({ access: 'public' }).use(rateLimitByIp);

/** Any valid key, operator or tenant. */
export const authenticatedProcedure = t.procedure.meta({ access: 'authenticated' }).use(authenticate);

export const operatorProcedure = t.procedure
  .meta({ access: 'operator' })
  .use(authenticate)
  .use(({ ctx, next }) => {
    if (ctx.principal.kind !== 'operator') {
      throw new AppError('FORBIDDEN', 'This operation needs an operator key (cx_op_…); tenant keys cannot manage the coalition.', {
        requiredScopes: ['operator'],
      });
    }
    return next({ ctx: { operatorKeyId: ctx.principal.keyId } });
  });

export const tenantProcedure = t.procedure
  .meta({ access: 'tenant' })
  .use(authenticate)
  .use(({ ctx, meta, next }) => {
    const principal = ctx.principal;
    if (principal.kind !== 'tenant') {
      throw new AppError('FORBIDDEN', 'This operation acts for a tenant and needs a tenant API key (cx_live_…).', { requiredScopes: meta?.scopes ?? [] });
    }
    const required = meta?.scopes ?? [];
    if (!hasScopes(principal.scopes, required)) {
      throw new AppError('FORBIDDEN', `This API key lacks the scope${required.length > 1 ? 's' : ''} ${required.join(', ')}.`, {
        requiredScopes: required,
        grantedScopes: principal.scopes,
      });
    }
    if (meta?.role && !principal.tenant.roles.includes(meta.role)) {
      throw new AppError('ROLE_REQUIRED', `This operation is for ${meta.role} tenants; ${principal.tenant.slug} is not one.`, { requiredRole: meta.role });
    }
    const tenant: TenantHandle = principal.tenant;
    return next({ ctx: { tenant, keyId: principal.keyId } });
  });
