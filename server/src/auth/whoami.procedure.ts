import { z } from 'zod';
import { authenticatedProcedure } from '../trpc/trpc.ts';

export const whoamiOutput = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('operator'), keyId: z.string() }),
  z.object({
    kind: z.literal('tenant'),
    keyId: z.string(),
    scopes: z.array(z.string()),
    tenant: z.object({ slug: z.string(), roles: z.array(z.string()) }),
  }),
]);

export const whoamiProcedure = authenticatedProcedure
  .meta({
    openapi: { method: 'GET', path: '/v1/me', tags: ['auth'], summary: 'Who am I: the tenant and scopes of the calling API key', protect: true },
  })
  .input(z.void())
  .output(whoamiOutput)
  .query(({ ctx }) => {
    const principal = ctx.principal;
    if (principal.kind === 'operator') return { kind: 'operator' as const, keyId: principal.keyId };
    return {
      kind: 'tenant' as const,
      keyId: principal.keyId,
      scopes: principal.scopes,
      tenant: { slug: principal.tenant.slug, roles: principal.tenant.roles },
    };
  });
