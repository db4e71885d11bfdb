import { z } from 'zod';
import { router, tenantProcedure } from '../trpc/trpc.ts';
import { campaignIdSchema, campaignOutputSchema, createCampaignInputSchema, updateCampaignInputSchema } from './campaign.ts';
import { createCampaign, getCampaign, listCampaigns, scheduleRules, scheduleRulesInputSchema, updateCampaign } from './manage-campaigns.ts';

const byId = z.strictObject({ campaignId: campaignIdSchema });

export const campaignsRouter = router({
  create: tenantProcedure
    .meta({ scopes: ['campaigns:write'], role: 'issuer', openapi: { method: 'POST', path: '/v1/campaigns', tags: ['campaigns'], summary: 'Create a sticker campaign with its first accrual rules', protect: true } })
    .input(createCampaignInputSchema)
    .output(campaignOutputSchema)
    .mutation(({ ctx, input }) => createCampaign({ tenant: ctx.tenant, actor: ctx.keyId, now: ctx.services.clock.now() }, input)),
  list: tenantProcedure
    .meta({ scopes: [], role: 'issuer', openapi: { method: 'GET', path: '/v1/campaigns', tags: ['campaigns'], summary: 'All campaigns, newest start first', protect: true } })
    .input(z.void())
    .output(z.object({ campaigns: z.array(campaignOutputSchema) }))
    .query(async ({ ctx }) => ({ campaigns: await listCampaigns({ tenant: ctx.tenant, now: ctx.services.clock.now() }) })),
  get: tenantProcedure
    .meta({ scopes: [], role: 'issuer', openapi: { method: 'GET', path: '/v1/campaigns/{campaignId}', tags: ['campaigns'], summary: 'One campaign: terms, dates, stores, milestones and every rules version', protect: true } })
    .input(byId)
    .output(campaignOutputSchema)
    .query(({ ctx, input }) => getCampaign({ tenant: ctx.tenant, now: ctx.services.clock.now() }, input.campaignId)),
  update: tenantProcedure
    .meta({ scopes: ['campaigns:write'], role: 'issuer', openapi: { method: 'PATCH', path: '/v1/campaigns/{campaignId}', tags: ['campaigns'], summary: 'Edit texts and milestones; dates and stores only before the start', protect: true } })
    .input(byId.extend(updateCampaignInputSchema.shape).strict())
    .output(campaignOutputSchema)
    .mutation(({ ctx, input }) => {
      const { campaignId, ...patch } = input;
      return updateCampaign({ tenant: ctx.tenant, actor: ctx.keyId, now: ctx.services.clock.now() }, campaignId, patch);
    }),
  scheduleRules: tenantProcedure
    .meta({ scopes: ['campaigns:write'], role: 'issuer', openapi: { method: 'POST', path: '/v1/campaigns/{campaignId}/rules', tags: ['campaigns'], summary: 'Add a rules version taking effect now or later (never retroactive)', protect: true } })
    .input(byId.extend(scheduleRulesInputSchema.shape).strict())
    .output(campaignOutputSchema)
    .mutation(({ ctx, input }) => {
      const { campaignId, ...rules } = input;
      return scheduleRules({ tenant: ctx.tenant, actor: ctx.keyId, now: ctx.services.clock.now() }, campaignId, rules);
    }),
});
