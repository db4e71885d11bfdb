import { z } from 'zod';
import { router, tenantProcedure } from '../trpc/trpc.ts';
import { getIssuerSettings, issuerSettingsSchema, updateIssuerSettings, updateIssuerSettingsSchema } from './issuer-settings.ts';

export const issuerSettingsRouter = router({
  get: tenantProcedure
    .meta({ scopes: ['admin'], role: 'issuer', openapi: { method: 'GET', path: '/v1/issuer/settings', tags: ['issuer'], summary: 'Enrolment and notification settings', protect: true } })
    .input(z.void())
    .output(issuerSettingsSchema)
    .query(({ ctx }) => getIssuerSettings(ctx.tenant.db)),
  update: tenantProcedure
    .meta({ scopes: ['admin'], role: 'issuer', openapi: { method: 'PATCH', path: '/v1/issuer/settings', tags: ['issuer'], summary: 'Change enrolment and notification settings', protect: true } })
    .input(updateIssuerSettingsSchema)
    .output(issuerSettingsSchema)
    .mutation(({ ctx, input }) => updateIssuerSettings(ctx.tenant.db, input)),
});
