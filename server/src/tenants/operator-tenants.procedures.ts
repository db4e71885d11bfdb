import { z } from 'zod';
import { operatorProcedure } from '../trpc/trpc.ts';
import { createTenant } from './create-tenant.ts';
import { getTenant, listTenants } from './get-tenant.ts';
import { currencySchema, slugSchema, tenantOutputSchema, tenantRoleSchema, tenantStatusSchema, timezoneSchema } from './tenant.ts';
import { updateTenant } from './update-tenant.ts';

const displayNameSchema = z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters');
const rolesSchema = z.array(tenantRoleSchema).min(1, 'name at least one role: issuer and/or partner').max(2);
const rateLimitSchema = z.number().int().min(1).max(1_000_000).nullable();

export const createTenantProcedure = operatorProcedure
  .meta({
    openapi: { method: 'POST', path: '/v1/operator/tenants', tags: ['operator'], summary: 'Register a retailer and provision its schema', protect: true },
  })
  .input(
    z.object({
      slug: slugSchema.describe('Permanent identifier, e.g. "green-grocer". Names the tenant schema.'),
      displayName: displayNameSchema,
      roles: rolesSchema,
      timezone: timezoneSchema.describe('IANA zone the tenant reports and settles in.'),
      currency: currencySchema.describe('ISO 4217 currency of the tenant\'s money amounts; fixed once created.'),
      rateLimitPerMinute: rateLimitSchema.optional(),
    }),
  )
  .output(tenantOutputSchema)
  .mutation(({ ctx, input }) => createTenant(ctx.services.db, input, ctx.operatorKeyId));

export const listTenantsProcedure = operatorProcedure
  .meta({ openapi: { method: 'GET', path: '/v1/operator/tenants', tags: ['operator'], summary: 'List tenants by slug, paginated', protect: true } })
  .input(
    z.object({
      limit: z.coerce.number().int().min(1).max(500).default(100),
      cursor: slugSchema.optional().describe('nextCursor of the previous page.'),
    }),
  )
  .output(z.object({ tenants: z.array(tenantOutputSchema), nextCursor: z.string().nullable() }))
  .query(({ ctx, input }) => listTenants(ctx.services.db, input));

export const getTenantProcedure = operatorProcedure
  .meta({ openapi: { method: 'GET', path: '/v1/operator/tenants/{slug}', tags: ['operator'], summary: 'One tenant', protect: true } })
  .input(z.object({ slug: slugSchema }))
  .output(tenantOutputSchema)
  .query(({ ctx, input }) => getTenant(ctx.services.db, input.slug));

export const updateTenantProcedure = operatorProcedure
  .meta({
    openapi: { method: 'PATCH', path: '/v1/operator/tenants/{slug}', tags: ['operator'], summary: 'Rename, re-role, suspend/reactivate or re-limit a tenant', protect: true },
  })
  .input(
    z
      .object({
        slug: slugSchema,
        displayName: displayNameSchema.optional(),
        roles: rolesSchema.optional(),
        status: tenantStatusSchema.optional(),
        timezone: timezoneSchema.optional(),
        rateLimitPerMinute: rateLimitSchema.optional(),
      })
      .strict(),
  )
  .output(tenantOutputSchema)
  .mutation(({ ctx, input }) => {
    const { slug, ...patch } = input;
    return updateTenant(ctx.services.db, slug, patch, ctx.operatorKeyId);
  });
