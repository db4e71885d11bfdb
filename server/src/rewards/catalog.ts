import { z } from 'zod';
import { agreementProblem } from '../agreements/agreement.ts';
import { agreementsOfIssuer } from '../agreements/agreement.queries.ts';
import { capLeftThisMonth } from '../agreements/agreement-usage.queries.ts';
import type { TenantHandle } from '../auth/principal.ts';
import { customerIdSchema } from '../customers/customer.ts';
import { requireCustomer } from '../customers/manage-customers.ts';
import { coalitionDb, tenantDb, type Database } from '../db/database.ts';
import { tenantSchemaName } from '../db/schema-names.ts';
import { describeOffers } from '../offers/manage-offers.ts';
import { offerTermsSchema, termsOf, type OfferSummary } from '../offers/offer.ts';
import { countAvailable } from '../pools/stock.ts';
import { balancesByCampaign } from '../stickers/ledger.queries.ts';
import { tenantSummaries } from '../tenants/tenant.queries.ts';
import { limitUsage, type LimitUsage } from './availability.ts';
import { codesNeededUntil, limitPeriodSchema, type RewardRow } from './reward.ts';

/** Stock is counted up to this many codes: enough for "plenty", never a scan of a big pool. */
const STOCK_COUNT_LIMIT = 1_000;

export const catalogInputSchema = z.strictObject({
  customerId: customerIdSchema.optional().describe("With it, each reward shows the customer's progress and limits."),
});

const unavailableReasonSchema = z
  .enum(['AGREEMENT_INACTIVE', 'REWARD_UNAVAILABLE', 'POOL_EXHAUSTED', 'AGREEMENT_CAP_REACHED'])
  .nullable()
  .describe('Why nobody can exchange it right now: the error code an exchange would answer, or null.');

export const catalogOutputSchema = z.object({
  customerId: z.string().nullable(),
  rewards: z.array(
    z.object({
      id: z.string(),
      title: z.string(),
      description: z.string(),
      imageUrl: z.string().nullable(),
      stickerCost: z.number().int(),
      campaign: z.object({ id: z.string(), name: z.string(), burnAt: z.string() }),
      partner: z.object({ slug: z.string(), displayName: z.string() }),
      offer: offerTermsSchema,
      availability: z.object({
        exchangeable: z.boolean(),
        reason: unavailableReasonSchema,
        detail: z.string().nullable().describe('The `details.reason` that answer would carry (`suspended`, `offer_not_active`, `campaign_burned`, …), or null.'),
        codesLeft: z.number().int().describe(`Codes available for it (valid for at least minCodeValidityDays, and an hour), counted up to ${STOCK_COUNT_LIMIT}.`),
        codesLeftAtLeast: z.boolean().describe(`true when codesLeft is the counting limit (${STOCK_COUNT_LIMIT}) and there may be more.`),
        capLeftThisMonth: z.number().int().nullable().describe("Codes the agreement's monthly cap still allows; null = no cap."),
      }),
      customer: z
        .object({
          availableStickers: z.number().int().describe('Available stickers in the campaign.'),
          stickersNeeded: z.number().int().describe('Still missing for one voucher; 0 when affordable.'),
          percent: z.number().int().min(0).max(100),
          canExchange: z.boolean().describe('The reward is available and this customer may exchange it now.'),
          reason: z
            .enum(['CUSTOMER_BLOCKED', 'LIMIT_REACHED', 'INSUFFICIENT_STICKERS'])
            .nullable()
            .describe('Why this customer cannot exchange it (besides availability), or null.'),
          limits: z.object({
            perCustomer: z.object({ limit: z.number().int(), used: z.number().int() }).nullable(),
            perPeriod: z.object({ limit: z.number().int(), used: z.number().int(), period: limitPeriodSchema, resetsAt: z.string() }).nullable(),
          }),
        })
        .nullable(),
    }),
  ),
});
export type Catalog = z.infer<typeof catalogOutputSchema>;

/**
 * The issuer's active rewards as the customer app shows them: live availability (the
 * agreement in force, the partner's offer active, codes left, the monthly cap) and,
 * for a customer, progress towards each and the limits used. Reads only: what it shows
 * can change before an exchange, which checks everything again under its locks.
 */
export async function getCatalog(context: { db: Database; tenant: TenantHandle; now: Date }, customerId?: string): Promise<Catalog> {
  const { db, tenant, now } = context;
  const coalition = coalitionDb(db);
  const rewards = await tenant.db.selectFrom('rewards').selectAll().where('status', '=', 'active').orderBy('sort_order').orderBy('created_at').orderBy('id').execute();
  const customer = customerId ? await requireCustomer(tenant, customerId) : null;
  if (rewards.length === 0) return { customerId: customer?.id ?? null, rewards: [] };

  const agreements = new Map((await agreementsOfIssuer(coalition, tenant.id, [...new Set(rewards.map((reward) => reward.agreement_id))])).map((row) => [row.id, row]));
  const partners = await tenantSummaries(coalition, [...agreements.values()].map((row) => row.partner_tenant_id));
  const capLeft = await capLeftThisMonth(coalition, [...agreements.values()], now);
  const campaigns = new Map(
    (await tenant.db.selectFrom('campaigns').select(['id', 'name', 'burn_at', 'burned_at']).where('id', 'in', [...new Set(rewards.map((reward) => reward.campaign_id))]).execute()).map((row) => [row.id, row]),
  );
  const balances = customer ? new Map((await balancesByCampaign(tenant.db, customer.id, now)).map((row) => [row.campaign_id, row.available])) : new Map<string, number>();
  // One read of each partner's offers for the whole catalog.
  const offers = new Map<string, OfferSummary>();
  for (const partner of partners.values()) {
    const offerIds = rewards.filter((reward) => agreements.get(reward.agreement_id)?.partner_tenant_id === partner.id).map((reward) => reward.offer_id);
    for (const [id, offer] of await describeOffers(tenantDb(db, tenantSchemaName(partner.slug)), [...new Set(offerIds)])) offers.set(`${partner.id}:${id}`, offer);
  }

  const entries: Catalog['rewards'] = [];
  for (const reward of rewards) {
    const agreement = agreements.get(reward.agreement_id);
    const campaign = campaigns.get(reward.campaign_id);
    if (!agreement || !campaign) continue;
    const partner = partners.get(agreement.partner_tenant_id)!;
    const partnerDb = tenantDb(db, tenantSchemaName(partner.slug));
    const offer = offers.get(`${partner.id}:${reward.offer_id}`);
    if (!offer) continue;
    const neededUntil = codesNeededUntil(reward, now);
    const codesLeft = await countAvailable(partnerDb, reward.offer_id, neededUntil, STOCK_COUNT_LIMIT);
    const capLeftNow = capLeft.get(agreement.id) ?? null;
    const problem = agreementProblem(agreement, { issuer: agreement.issuer_status, partner: agreement.partner_status }, now);
    // The same checks, in the same order, as the exchange.
    const [reason, detail]: [Catalog['rewards'][number]['availability']['reason'], string | null] = problem
      ? ['AGREEMENT_INACTIVE', problem]
      : campaign.burned_at || campaign.burn_at <= now
        ? ['REWARD_UNAVAILABLE', 'campaign_burned']
        : offer.status !== 'active' || (offer.codesValidUntil !== null && new Date(offer.codesValidUntil) <= now)
          ? ['REWARD_UNAVAILABLE', 'offer_not_active']
          : offer.codesValidUntil !== null && new Date(offer.codesValidUntil) <= neededUntil
            ? ['REWARD_UNAVAILABLE', 'offer_ends_soon']
            : codesLeft === 0
              ? ['POOL_EXHAUSTED', null]
              : capLeftNow === 0
                ? ['AGREEMENT_CAP_REACHED', null]
                : [null, null];
    entries.push({
      id: reward.id,
      title: reward.title,
      description: reward.description,
      imageUrl: reward.image_url,
      stickerCost: reward.sticker_cost,
      campaign: { id: campaign.id, name: campaign.name, burnAt: campaign.burn_at.toISOString() },
      partner: { slug: partner.slug, displayName: partner.displayName },
      offer: termsOf(offer),
      availability: { exchangeable: reason === null, reason, detail, codesLeft, codesLeftAtLeast: codesLeft >= STOCK_COUNT_LIMIT, capLeftThisMonth: capLeftNow },
      customer: customer
        ? customerProgress(reward, reason === null, balances.get(reward.campaign_id) ?? 0, customer.blocked_at !== null, await limitUsage(coalition, { issuerTenantId: tenant.id, customerId: customer.id, reward, timezone: tenant.timezone, now }))
        : null,
    });
  }
  return { customerId: customer?.id ?? null, rewards: entries };
}

function customerProgress(reward: RewardRow, rewardAvailable: boolean, available: number, blocked: boolean, usage: LimitUsage): NonNullable<Catalog['rewards'][number]['customer']> {
  const have = Math.max(0, available);
  const reason = blocked ? 'CUSTOMER_BLOCKED' : usage.reached ? 'LIMIT_REACHED' : have < reward.sticker_cost ? 'INSUFFICIENT_STICKERS' : null;
  return {
    availableStickers: available,
    stickersNeeded: Math.max(0, reward.sticker_cost - have),
    percent: Math.min(100, Math.floor((have * 100) / reward.sticker_cost)),
    canExchange: rewardAvailable && reason === null,
    reason,
    limits: { perCustomer: usage.total, perPeriod: usage.period },
  };
}
