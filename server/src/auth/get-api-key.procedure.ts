import { z } from 'zod';
import { tenantProcedure } from '../trpc/trpc.ts';
import { apiKeyIdSchema, apiKeyOutputSchema } from './api-key.ts';
import { getApiKey } from './list-api-keys.ts';

export const getApiKeyProcedure = tenantProcedure
  .meta({
    scopes: ['admin'],
    openapi: { method: 'GET', path: '/v1/api-keys/{keyId}', tags: ['api-keys'], summary: 'One API key of your tenant', protect: true },
  })
  .input(z.strictObject({ keyId: apiKeyIdSchema }))
  .output(apiKeyOutputSchema)
  .query(({ ctx, input }) => getApiKey(ctx.services.db, ctx.tenant.id, input.keyId));
