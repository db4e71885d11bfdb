import { initTRPC } from '@trpc/server';
import { TRPC_ERROR_CODES_BY_KEY } from '@trpc/server/rpc';
import type { OpenApiMeta } from 'trpc-to-openapi';
import { admitPrincipal, authenticateCounted, requireTenantAccess } from '../auth/access.ts';
import type { Principal } from '../auth/principal.ts';
import type { TenantRole } from '../db/tables.ts';
import type { TenantScope } from '../auth/scopes.ts';
import { AppError, toErrorBody } from '../errors/app-error.ts';
import { ERROR_CODES } from '../errors/error-codes.ts';
import { currentRequestId } from '../http/request-scope.ts';
import type { RequestContext } from './context.ts';
import { toAppError } from './to-app-error.ts';
import { runAudited } from '../tenants/audit-scope.ts';
import { insertAuditEvent, insertOperatorAuditEvent } from '../tenants/audit.queries.ts';
import { coalitionDb } from '../db/database.ts';

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

/** Resolves the caller's key once per HTTP request (a tRPC batch shares it). */
function authenticateOnce(ctx: RequestContext): Promise<Principal> {
  ctx.authentication.principal ??= authenticateCounted(ctx.services, ctx.credentials, ctx.clientIp, ctx.responseHeaders);
  return ctx.authentication.principal;
}

const authenticate = t.middleware(async ({ ctx, next }) => {
  const principal = await authenticateOnce(ctx);
  // Every call counts, a batched one too.
  await admitPrincipal(ctx.services, principal, ctx.responseHeaders);
  return next({ ctx: { principal, log: ctx.log.child({ keyId: principal.keyId }) } });
});

/**
 * Portal users' changes that wrote no entry of their own to their trail (the tenant's,
 * or the operators') get one naming the procedure and the ids (and slug) it acted on.
 */
const auditPortalChanges = t.middleware(async ({ ctx, type, path, getRawInput, next }) => {
  const principal = (ctx as { principal?: Principal }).principal;
  if (type !== 'mutation' || !principal?.user) return next();
  const { result, recorded } = await runAudited(() => next());
  const trail = principal.kind === 'tenant' ? 'tenant' : 'operator';
  if (result.ok && !recorded.has(trail)) {
    const input = await getRawInput().catch(() => undefined);
    const ids = Object.fromEntries(Object.entries(typeof input === 'object' && input ? input : {}).filter(([key, value]) => /(Id|Slug|^slug)$/.test(key) && typeof value === 'string'));
    const entry = { actor: principal.keyId, action: `portal.${path}`, subjectType: 'procedure', subjectId: path, details: ids };
    if (principal.kind === 'tenant') await insertAuditEvent(principal.tenant.db, entry);
    else await insertOperatorAuditEvent(coalitionDb(ctx.services.db), entry);
  }
  return result;
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
  })
  .use(auditPortalChanges);


export const tenantProcedure = t.procedure
  .meta({ access: 'tenant' })
  .use(authenticate)
  .use(({ ctx, meta, next }) => next({ ctx: requireTenantAccess(ctx.principal, meta?.scopes ?? [], meta?.role) }))
  .use(auditPortalChanges);
