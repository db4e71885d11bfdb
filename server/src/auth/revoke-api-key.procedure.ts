import { z } from 'zod';
import { tenantProcedure } from '../trpc/trpc.ts';
import { apiKeyIdSchema, apiKeyOutputSchema } from './api-key.ts';
import { revokeTenantApiKey } from './revoke-api-key.ts';

export const revokeApiKeyProcedure = tenantProcedure
  .meta({
    scopes: ['admin'],
    openapi: { method: 'POST', path: '/v1/api-keys/{keyId}/revoke', tags: ['api-keys'], summary: 'Revoke an API key of your tenant, permanently', protect: true },
  })
  .input(z.strictObject({ keyId: apiKeyIdSchema }))
  .output(apiKeyOutputSchema)
  .mutation(({ ctx, input }) => revokeTenantApiKey(ctx.services.db, { tenant: ctx.tenant, keyId: input.keyId, actor: ctx.keyId }));
