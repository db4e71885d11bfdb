import { z } from 'zod';
import { requireTenantRow } from '../tenants/get-tenant.ts';
import { slugSchema } from '../tenants/tenant.ts';
import { operatorProcedure } from '../trpc/trpc.ts';
import { createApiKeyBody, createdApiKeyOutput } from './api-key-inputs.ts';
import { apiKeyIdSchema, apiKeyOutputSchema } from './api-key.ts';
import { createTenantApiKey } from './create-api-key.ts';
import { listApiKeys } from './list-api-keys.ts';
import { revokeAnyApiKey } from './revoke-api-key.ts';

// The operator's view of tenant keys: the same use-cases a tenant admin calls, with the
// tenant named in the path instead of taken from the caller's key.

export const operatorCreateApiKeyProcedure = operatorProcedure
  .meta({
    openapi: { method: 'POST', path: '/v1/operator/tenants/{slug}/api-keys', tags: ['operator'], summary: 'Create an API key for a tenant (shown once)', protect: true },
  })
  .input(createApiKeyBody.extend({ slug: slugSchema }))
  .output(createdApiKeyOutput)
  .mutation(async ({ ctx, input }) => {
    const tenant = await requireTenantRow(ctx.services.db, input.slug);
    return createTenantApiKey(ctx.services.db, { tenant, name: input.name, scopes: input.scopes, actor: ctx.operatorKeyId });
  });

export const operatorListApiKeysProcedure = operatorProcedure
  .meta({
    openapi: { method: 'GET', path: '/v1/operator/tenants/{slug}/api-keys', tags: ['operator'], summary: "List a tenant's API keys", protect: true },
  })
  .input(z.strictObject({ slug: slugSchema }))
  .output(z.object({ apiKeys: z.array(apiKeyOutputSchema) }))
  .query(async ({ ctx, input }) => {
    const tenant = await requireTenantRow(ctx.services.db, input.slug);
    return { apiKeys: await listApiKeys(ctx.services.db, tenant.id) };
  });

export const operatorRevokeApiKeyProcedure = operatorProcedure
  .meta({
    openapi: { method: 'POST', path: '/v1/operator/api-keys/{keyId}/revoke', tags: ['operator'], summary: 'Revoke any API key, tenant or operator', protect: true },
  })
  .input(z.strictObject({ keyId: apiKeyIdSchema }))
  .output(apiKeyOutputSchema)
  .mutation(({ ctx, input }) => revokeAnyApiKey(ctx.services.db, { keyId: input.keyId, actor: ctx.operatorKeyId }));
