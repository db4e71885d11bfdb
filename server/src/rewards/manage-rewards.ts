import { findAgreementOfTenant } from '../agreements/agreement.queries.ts';
import type { TenantHandle } from '../auth/principal.ts';
import { lockOpenCampaigns } from '../campaigns/campaign.queries.ts';
import { requireCampaign } from '../campaigns/manage-campaigns.ts';
import { coalitionDb, type Database, type TenantDb } from '../db/database.ts';
import { prefixedIds } from '../db/ids.ts';
import { AppError } from '../errors/app-error.ts';
import { parseInput, validationError } from '../errors/validation.ts';
import type { Secrets } from '../secrets/secrets.ts';
import { insertAuditEvent } from '../tenants/audit.queries.ts';
import { signingKeyFor } from '../vouchers/signing-keys.ts';
import {
  createRewardInputSchema,
  REWARD_TRANSITIONS,
  toReward,
  updateRewardInputSchema,
  type CreateRewardInput,
  type Reward,
  type RewardRow,
  type UpdateRewardInput,
} from './reward.ts';

const newRewardId = prefixedIds('rwd');

export interface RewardContext {
  db: Database;
  secrets: Secrets;
  tenant: TenantHandle;
  actor: string;
  now: Date;
}

function limitColumns(limits: { perCustomer: number | null; perPeriod: { count: number; period: 'day' | 'week' | 'month' } | null }) {
  return { limit_total: limits.perCustomer, limit_per_period: limits.perPeriod?.count ?? null, limit_period: limits.perPeriod?.period ?? null };
}

export async function requireReward(db: TenantDb, id: string, options: { forUpdate?: boolean } = {}): Promise<RewardRow> {
  let query = db.selectFrom('rewards').selectAll().where('id', '=', id);
  if (options.forUpdate) query = query.forNoKeyUpdate();
  const row = await query.executeTakeFirst();
  if (!row) throw new AppError('REWARD_NOT_FOUND', `No reward ${id} exists in the catalog.`, { rewardId: id });
  return row;
}

/**
 * Lists a partner's offer in the issuer's catalog. The agreement must be the issuer's
 * own and active, and cover the offer; the campaign must not have burned. The issuer's
 * first reward also creates its voucher signing key, so the key is published before
 * the first exchange.
 */
export async function createReward(context: RewardContext, rawInput: CreateRewardInput): Promise<Reward> {
  const input = parseInput(createRewardInputSchema, rawInput);
  const agreement = await findAgreementOfTenant(coalitionDb(context.db), context.tenant.id, input.agreementId);
  if (!agreement || agreement.issuer_tenant_id !== context.tenant.id) {
    throw new AppError('AGREEMENT_NOT_FOUND', `No agreement ${input.agreementId} lets ${context.tenant.slug} list partner offers.`, { agreementId: input.agreementId });
  }
  if (agreement.status !== 'active') {
    throw new AppError('AGREEMENT_INACTIVE', `Agreement ${agreement.id} is ${agreement.status}; rewards can only be listed under an active agreement.`, { agreementId: agreement.id, reason: agreement.status });
  }
  if (!agreement.offer_ids.includes(input.offerId)) {
    throw new AppError('OFFER_NOT_IN_AGREEMENT', `Agreement ${agreement.id} does not cover offer ${input.offerId}.`, { agreementId: agreement.id, offerId: input.offerId, offerIds: agreement.offer_ids });
  }
  await signingKeyFor(context.db, context.secrets, context.tenant.id, context.now);
  return context.tenant.db.transaction().execute(async (trx) => {
    await requireCampaign({ ...context.tenant, db: trx }, input.campaignId);
    if (!(await lockOpenCampaigns(trx, [input.campaignId], context.now)).has(input.campaignId)) {
      throw new AppError('CAMPAIGN_BURNED', 'The campaign has burned its stickers; none could pay for this reward.', { campaignId: input.campaignId });
    }
    const row = await trx
      .insertInto('rewards')
      .values({
        id: newRewardId(),
        title: input.title,
        description: input.description,
        image_url: input.imageUrl,
        sort_order: input.sortOrder,
        agreement_id: agreement.id,
        partner_tenant_id: agreement.partner_tenant_id,
        offer_id: input.offerId,
        campaign_id: input.campaignId,
        sticker_cost: input.stickerCost,
        ...limitColumns(input.limits),
        voucher_valid_days: input.voucherValidDays,
        min_code_validity_days: input.minCodeValidityDays,
        status: input.status,
        created_by: context.actor,
        created_at: context.now,
        updated_at: context.now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await insertAuditEvent(trx, { actor: context.actor, action: 'reward.created', subjectType: 'reward', subjectId: row.id, details: { title: row.title, offerId: row.offer_id, agreementId: row.agreement_id } });
    return toReward(row);
  });
}

export async function listRewards(tenant: TenantHandle, filter: { status?: RewardRow['status'] | undefined }): Promise<Reward[]> {
  let query = tenant.db.selectFrom('rewards').selectAll().orderBy('sort_order').orderBy('created_at').orderBy('id');
  if (filter.status) query = query.where('status', '=', filter.status);
  return (await query.execute()).map(toReward);
}

export async function getReward(tenant: TenantHandle, id: string): Promise<Reward> {
  return toReward(await requireReward(tenant.db, id));
}

/** Display fields, price, limits and validity change for future exchanges; issued vouchers keep theirs. */
export async function updateReward(context: RewardContext, id: string, rawPatch: UpdateRewardInput): Promise<Reward> {
  const patch = parseInput(updateRewardInputSchema, rawPatch);
  return context.tenant.db.transaction().execute(async (trx) => {
    const row = await requireReward(trx, id, { forUpdate: true });
    if (row.status === 'archived') throw new AppError('REWARD_ARCHIVED', `Reward ${id} is archived and no longer changes.`, { rewardId: id });
    const voucherValidDays = patch.voucherValidDays ?? row.voucher_valid_days;
    const minCodeValidityDays = patch.minCodeValidityDays ?? row.min_code_validity_days;
    if (minCodeValidityDays > voucherValidDays) throw validationError([{ path: ['minCodeValidityDays'], message: `must not exceed voucherValidDays (${voucherValidDays})` }]);
    const updated = await trx
      .updateTable('rewards')
      .set({
        ...(patch.title !== undefined && { title: patch.title }),
        ...(patch.description !== undefined && { description: patch.description }),
        ...(patch.imageUrl !== undefined && { image_url: patch.imageUrl }),
        ...(patch.sortOrder !== undefined && { sort_order: patch.sortOrder }),
        ...(patch.stickerCost !== undefined && { sticker_cost: patch.stickerCost }),
        ...(patch.limits !== undefined && limitColumns(patch.limits)),
        voucher_valid_days: voucherValidDays,
        min_code_validity_days: minCodeValidityDays,
        updated_at: context.now,
      })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await insertAuditEvent(trx, { actor: context.actor, action: 'reward.updated', subjectType: 'reward', subjectId: id, details: { ...patch } });
    return toReward(updated);
  });
}

export async function setRewardStatus(context: Omit<RewardContext, 'db' | 'secrets'>, id: string, status: RewardRow['status']): Promise<Reward> {
  return context.tenant.db.transaction().execute(async (trx) => {
    const row = await requireReward(trx, id, { forUpdate: true });
    if (row.status === status) return toReward(row);
    const allowed = REWARD_TRANSITIONS[row.status];
    if (!allowed.includes(status)) {
      throw new AppError('REWARD_STATUS_TRANSITION', `Reward ${id} is ${row.status}; it can move to ${allowed.length ? allowed.join(' or ') : 'no other status'}, not ${status}.`, {
        rewardId: id,
        status: row.status,
        requested: status,
        allowed,
      });
    }
    const updated = await trx.updateTable('rewards').set({ status, updated_at: context.now }).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
    await insertAuditEvent(trx, { actor: context.actor, action: 'reward.status_changed', subjectType: 'reward', subjectId: id, details: { from: row.status, to: status } });
    return toReward(updated);
  });
}
