import { z } from 'zod';
import { router, tenantProcedure } from '../trpc/trpc.ts';
import { catalogInputSchema, catalogOutputSchema, getCatalog } from './catalog.ts';
import { createReward, getReward, listRewards, setRewardStatus, updateReward } from './manage-rewards.ts';
import { createRewardInputSchema, rewardIdSchema, rewardOutputSchema, rewardStatusSchema, updateRewardInputSchema } from './reward.ts';

const byId = z.strictObject({ rewardId: rewardIdSchema });
const marketing = { scopes: ['campaigns:write' as const], role: 'issuer' as const };

export const rewardsRouter = router({
  create: tenantProcedure
    .meta({ ...marketing, openapi: { method: 'POST', path: '/v1/rewards', tags: ['rewards'], summary: "List a partner's offer in the reward catalog at a sticker price", protect: true } })
    .input(createRewardInputSchema)
    .output(rewardOutputSchema)
    .mutation(({ ctx, input }) => createReward({ db: ctx.services.db, secrets: ctx.services.secrets, tenant: ctx.tenant, actor: ctx.keyId, now: ctx.services.clock.now() }, input)),
  list: tenantProcedure
    .meta({ ...marketing, openapi: { method: 'GET', path: '/v1/rewards', tags: ['rewards'], summary: 'Every reward of the catalog, in catalog order', protect: true } })
    .input(z.strictObject({ status: rewardStatusSchema.optional() }).optional())
    .output(z.object({ rewards: z.array(rewardOutputSchema) }))
    .query(async ({ ctx, input }) => ({ rewards: await listRewards(ctx.tenant, { status: input?.status }) })),
  get: tenantProcedure
    .meta({ ...marketing, openapi: { method: 'GET', path: '/v1/rewards/{rewardId}', tags: ['rewards'], summary: 'One reward', protect: true } })
    .input(byId)
    .output(rewardOutputSchema)
    .query(({ ctx, input }) => getReward(ctx.tenant, input.rewardId)),
  update: tenantProcedure
    .meta({ ...marketing, openapi: { method: 'PATCH', path: '/v1/rewards/{rewardId}', tags: ['rewards'], summary: 'Edit texts, price, limits or validity (for future exchanges)', protect: true } })
    .input(byId.extend(updateRewardInputSchema.shape).strict())
    .output(rewardOutputSchema)
    .mutation(({ ctx, input }) => {
      const { rewardId, ...patch } = input;
      return updateReward({ db: ctx.services.db, secrets: ctx.services.secrets, tenant: ctx.tenant, actor: ctx.keyId, now: ctx.services.clock.now() }, rewardId, patch);
    }),
  setStatus: tenantProcedure
    .meta({ ...marketing, openapi: { method: 'POST', path: '/v1/rewards/{rewardId}/status', tags: ['rewards'], summary: 'Pause, resume or archive a reward', protect: true } })
    .input(byId.extend({ status: rewardStatusSchema }).strict())
    .output(rewardOutputSchema)
    .mutation(({ ctx, input }) => setRewardStatus({ tenant: ctx.tenant, actor: ctx.keyId, now: ctx.services.clock.now() }, input.rewardId, input.status)),
});

export const catalogProcedure = tenantProcedure
  .meta({
    scopes: ['customers:read'],
    role: 'issuer',
    openapi: { method: 'GET', path: '/v1/catalog', tags: ['rewards'], summary: "The app's reward catalog: live availability and, for a customer, progress and limits", protect: true },
  })
  .input(catalogInputSchema.optional())
  .output(catalogOutputSchema)
  .query(({ ctx, input }) => getCatalog({ db: ctx.services.db, tenant: ctx.tenant, now: ctx.services.clock.now() }, input?.customerId));
