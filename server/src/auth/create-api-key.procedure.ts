import { tenantProcedure } from '../trpc/trpc.ts';
import { createApiKeyBody, createdApiKeyOutput } from './api-key-inputs.ts';
import { createTenantApiKey } from './create-api-key.ts';

export const createApiKeyProcedure = tenantProcedure
  .meta({
    scopes: ['admin'],
    openapi: { method: 'POST', path: '/v1/api-keys', tags: ['api-keys'], summary: 'Create an API key for your tenant (shown once)', protect: true },
  })
  .input(createApiKeyBody)
  .output(createdApiKeyOutput)
  .mutation(({ ctx, input }) =>
    createTenantApiKey(ctx.services.db, { tenant: ctx.tenant, name: input.name, scopes: input.scopes, actor: ctx.keyId }),
  );
