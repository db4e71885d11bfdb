import { z } from 'zod';
import { operatorProcedure } from '../trpc/trpc.ts';
import { createTenant } from './create-tenant.ts';
import { getTenant, listTenants } from './get-tenant.ts';
import { createTenantInputSchema, slugSchema, tenantOutputSchema, updateTenantBySlugInputSchema } from './tenant.ts';
import { updateTenant } from './update-tenant.ts';


export const createTenantProcedure = operatorProcedure
  .meta({
    openapi: { method: 'POST', path: '/v1/operator/tenants', tags: ['operator'], summary: 'Register a retailer and provision its schema', protect: true },
  })
  .input(createTenantInputSchema)
  .output(tenantOutputSchema)
  .mutation(({ ctx, input }) => createTenant(ctx.services.db, input, ctx.operatorKeyId));

export const listTenantsProcedure = operatorProcedure
  .meta({ openapi: { method: 'GET', path: '/v1/operator/tenants', tags: ['operator'], summary: 'List tenants by slug, paginated', protect: true } })
  .input(
    z.strictObject({
      limit: z.coerce.number().int().min(1).max(500).default(100),
      cursor: slugSchema.optional().describe('nextCursor of the previous page.'),
    }),
  )
  .output(z.object({ tenants: z.array(tenantOutputSchema), nextCursor: z.string().nullable() }))
  .query(({ ctx, input }) => listTenants(ctx.services.db, input));

export const getTenantProcedure = operatorProcedure
  .meta({ openapi: { method: 'GET', path: '/v1/operator/tenants/{slug}', tags: ['operator'], summary: 'One tenant', protect: true } })
  .input(z.strictObject({ slug: slugSchema }))
  .output(tenantOutputSchema)
  .query(({ ctx, input }) => getTenant(ctx.services.db, input.slug));

export const updateTenantProcedure = operatorProcedure
  .meta({
    openapi: { method: 'PATCH', path: '/v1/operator/tenants/{slug}', tags: ['operator'], summary: 'Rename, re-role, suspend/reactivate or re-limit a tenant', protect: true },
  })
  .input(updateTenantBySlugInputSchema)
  .output(tenantOutputSchema)
  .mutation(({ ctx, input }) => {
    const { slug, ...patch } = input;
    return updateTenant(ctx.services.db, slug, patch, ctx.operatorKeyId);
  });
