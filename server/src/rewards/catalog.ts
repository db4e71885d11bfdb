import { z } from 'zod';
import { tenantSummaries, type AgreementInForceRow } from '../agreements/agreement.queries.ts';
import type { TenantHandle } from '../auth/principal.ts';
import { requireCustomer } from '../customers/manage-customers.ts';
import { coalitionDb, tenantDb, type Database } from '../db/database.ts';
import { tenantSchemaName } from '../db/schema-names.ts';
import { describeOffers } from '../offers/manage-offers.ts';
import { countAvailable } from '../pools/stock.ts';
import { balancesByCampaign } from '../stickers/ledger.queries.ts';
import { monthOf } from '../system/calendar.ts';
import { voucherTermsSchema } from '../vouchers/voucher.ts';
import { agreementProblem, limitUsage, type LimitUsage } from './availability.ts';
import { limitPeriodSchema, type RewardRow } from './reward.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
/** Stock is counted up to this many codes: enough for "plenty", never a scan of a big pool. */
const STOCK_COUNT_LIMIT = 1_000;

export const catalogInputSchema = z.strictObject({
  customerId: z.string().regex(/^cus_[0-9A-Za-z]{16}$/, 'must be a customer id (cus_ followed by 16 letters and digits)').optional().describe("With it, each reward shows the customer's progress and limits."),
});

const unavailableReasonSchema = z
  .enum(['AGREEMENT_INACTIVE', 'AGREEMENT_CAP_REACHED', 'OFFER_NOT_ACTIVE', 'POOL_EXHAUSTED', 'CAMPAIGN_BURNED'])
  .nullable()
  .describe('Why nobody can exchange it right now (an error code the exchange would answer), or null.');

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
      offer: voucherTermsSchema,
      availability: z.object({
        exchangeable: z.boolean(),
        reason: unavailableReasonSchema,
        codesLeft: z.number().int().describe(`Codes available for it, counted up to ${STOCK_COUNT_LIMIT}.`),
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

  const agreementIds = [...new Set(rewards.map((reward) => reward.agreement_id))];
  const agreements = new Map(
    (
      (await coalition
        .selectFrom('agreements as a')
        .innerJoin('tenants as i', 'i.id', 'a.issuer_tenant_id')
        .innerJoin('tenants as p', 'p.id', 'a.partner_tenant_id')
        .selectAll('a')
        .select(['i.status as issuer_status', 'p.status as partner_status', 'i.slug as issuer_slug', 'p.slug as partner_slug'])
        .where('a.id', 'in', agreementIds)
        .where('a.issuer_tenant_id', '=', tenant.id)
        .execute()) as AgreementInForceRow[]
    ).map((row) => [row.id, row]),
  );
  const partners = await tenantSummaries(coalition, [...agreements.values()].map((row) => row.partner_tenant_id));
  const usage = await coalition
    .selectFrom('agreement_usage')
    .select(['agreement_id', 'period', 'issued'])
    .where('agreement_id', 'in', agreementIds)
    .execute();
  const campaigns = new Map(
    (await tenant.db.selectFrom('campaigns').select(['id', 'name', 'burn_at', 'burned_at']).where('id', 'in', [...new Set(rewards.map((reward) => reward.campaign_id))]).execute()).map((row) => [row.id, row]),
  );
  const balances = customer ? new Map((await balancesByCampaign(tenant.db, customer.id, now)).map((row) => [row.campaign_id, row.available])) : new Map<string, number>();

  const entries: Catalog['rewards'] = [];
  for (const reward of rewards) {
    const agreement = agreements.get(reward.agreement_id);
    const campaign = campaigns.get(reward.campaign_id);
    if (!agreement || !campaign) continue;
    const partner = partners.get(agreement.partner_tenant_id)!;
    const partnerDb = tenantDb(db, tenantSchemaName(partner.slug));
    const offer = (await describeOffers(partnerDb, [reward.offer_id])).get(reward.offer_id);
    if (!offer) continue;
    const codesLeft = await countAvailable(partnerDb, reward.offer_id, new Date(now.getTime() + reward.min_code_validity_days * DAY_MS), STOCK_COUNT_LIMIT);
    const issuedThisMonth = usage.find((row) => row.agreement_id === agreement.id && row.period === monthOf(now, agreement.timezone))?.issued ?? 0;
    const capLeft = agreement.monthly_cap === null ? null : Math.max(0, agreement.monthly_cap - issuedThisMonth);
    const offerLive = offer.status === 'active' && (offer.codesValidUntil === null || new Date(offer.codesValidUntil) > now);
    const reason: Catalog['rewards'][number]['availability']['reason'] = agreementProblem(agreement, now)
      ? 'AGREEMENT_INACTIVE'
      : campaign.burned_at || campaign.burn_at <= now
        ? 'CAMPAIGN_BURNED'
        : !offerLive
          ? 'OFFER_NOT_ACTIVE'
          : codesLeft === 0
            ? 'POOL_EXHAUSTED'
            : capLeft === 0
              ? 'AGREEMENT_CAP_REACHED'
              : null;
    entries.push({
      id: reward.id,
      title: reward.title,
      description: reward.description,
      imageUrl: reward.image_url,
      stickerCost: reward.sticker_cost,
      campaign: { id: campaign.id, name: campaign.name, burnAt: campaign.burn_at.toISOString() },
      partner: { slug: partner.slug, displayName: partner.displayName },
      offer: { title: offer.title, description: offer.description, value: offer.value, currency: offer.currency, minOrderMinor: offer.minOrderMinor, termsUrl: offer.termsUrl },
      availability: { exchangeable: reason === null, reason, codesLeft, codesLeftAtLeast: codesLeft >= STOCK_COUNT_LIMIT, capLeftThisMonth: capLeft },
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
