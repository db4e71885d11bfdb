import { z } from 'zod';
import { tenantProcedure } from '../trpc/trpc.ts';
import { apiKeyOutputSchema } from './api-key.ts';
import { listApiKeys } from './list-api-keys.ts';

export const listApiKeysProcedure = tenantProcedure
  .meta({
    scopes: ['admin'],
    openapi: { method: 'GET', path: '/v1/api-keys', tags: ['api-keys'], summary: "List your tenant's API keys, revoked ones included", protect: true },
  })
  .input(z.void())
  .output(z.object({ apiKeys: z.array(apiKeyOutputSchema) }))
  .query(async ({ ctx }) => ({ apiKeys: await listApiKeys(ctx.services.db, ctx.tenant.id) }));
