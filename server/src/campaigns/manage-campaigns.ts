import { prefixedIds } from '../db/ids.ts';
import { z } from 'zod';
import type { TenantHandle } from '../auth/principal.ts';
import { AppError } from '../errors/app-error.ts';
import { parseInput, validationError } from '../errors/validation.ts';
import { insertAuditEvent } from '../tenants/audit.queries.ts';
import { accrualRulesSchema } from './accrual-rules.ts';
import {
  campaignStatus,
  createCampaignInputSchema,
  holdBeforeBurnProblem,
  timestampSchema,
  toCampaign,
  updateCampaignInputSchema,
  type Campaign,
  type CreateCampaignInput,
  type UpdateCampaignInput,
} from './campaign.ts';
import { findCampaign, insertCampaign, insertRuleVersion, listCampaignRows, ruleVersionsByCampaign, updateCampaignRow, type CampaignRow } from './campaign.queries.ts';

const newCampaignId = prefixedIds('cmp');

interface Context {
  tenant: TenantHandle;
  actor: string;
  now: Date;
}

/** Receipts are judged by the rules in force at their time: a campaign cannot start in the past. */
const START_TOLERANCE_MS = 5 * 60 * 1000;

function assertStartNotPast(startsAt: Date, now: Date): void {
  if (startsAt.getTime() < now.getTime() - START_TOLERANCE_MS) {
    throw validationError([{ path: ['startsAt'], message: 'must not be in the past: receipts already recorded earned nothing under rules that did not exist yet' }]);
  }
}

function assertHoldFitsBeforeBurn(endsAt: Date, burnAt: Date, versions: readonly { rules: { holdDays: number } }[]): void {
  const problem = holdBeforeBurnProblem(endsAt, burnAt, Math.max(0, ...versions.map((version) => version.rules.holdDays)));
  if (problem) throw validationError([{ path: ['burnAt'], message: problem }]);
}

export async function createCampaign(context: Context, rawInput: CreateCampaignInput): Promise<Campaign> {
  const input = parseInput(createCampaignInputSchema, rawInput);
  assertStartNotPast(new Date(input.startsAt), context.now);
  return context.tenant.db.transaction().execute(async (trx) => {
    const row = await insertCampaign(trx, {
      id: newCampaignId(),
      name: input.name,
      description: input.description,
      terms: input.terms,
      starts_at: new Date(input.startsAt),
      ends_at: new Date(input.endsAt),
      burn_at: new Date(input.burnAt),
      store_codes: input.storeCodes,
      milestones: JSON.stringify(input.milestones),
      expiring_notified_at: null,
      burned_at: null,
    });
    await insertRuleVersion(trx, { campaignId: row.id, effectiveFrom: row.starts_at, rules: input.rules, createdBy: context.actor });
    await insertAuditEvent(trx, { actor: context.actor, action: 'campaign.created', subjectType: 'campaign', subjectId: row.id, details: { name: row.name } });
    return toCampaign(row, (await ruleVersionsByCampaign(trx, [row.id])).get(row.id) ?? [], context.now);
  });
}

export async function requireCampaign(tenant: TenantHandle, id: string, options: { forUpdate?: boolean } = {}): Promise<CampaignRow> {
  const row = await findCampaign(tenant.db, id, options);
  if (!row) throw new AppError('CAMPAIGN_NOT_FOUND', `No campaign ${id} exists.`, { campaignId: id });
  return row;
}

export async function getCampaign(context: Omit<Context, 'actor'>, id: string): Promise<Campaign> {
  const row = await requireCampaign(context.tenant, id);
  return toCampaign(row, (await ruleVersionsByCampaign(context.tenant.db, [id])).get(id) ?? [], context.now);
}

export async function listCampaigns(context: Omit<Context, 'actor'>): Promise<Campaign[]> {
  const rows = await listCampaignRows(context.tenant.db);
  const versions = await ruleVersionsByCampaign(context.tenant.db, rows.map((row) => row.id));
  return rows.map((row) => toCampaign(row, versions.get(row.id) ?? [], context.now));
}

/** Texts and milestones change any time; dates and stores only before the campaign starts. */
export async function updateCampaign(context: Context, id: string, rawPatch: UpdateCampaignInput): Promise<Campaign> {
  const patch = parseInput(updateCampaignInputSchema, rawPatch);
  return context.tenant.db.transaction().execute(async (trx) => {
    const row = await requireCampaign({ ...context.tenant, db: trx }, id, { forUpdate: true });
    const touchesSchedule = patch.startsAt !== undefined || patch.endsAt !== undefined || patch.burnAt !== undefined || patch.storeCodes !== undefined;
    if (touchesSchedule && campaignStatus(row, context.now) !== 'scheduled') {
      throw new AppError('CAMPAIGN_ALREADY_STARTED', `Campaign ${id} has started; its dates and stores can no longer change.`, { campaignId: id });
    }
    const startsAt = patch.startsAt ? new Date(patch.startsAt) : row.starts_at;
    const endsAt = patch.endsAt ? new Date(patch.endsAt) : row.ends_at;
    const burnAt = patch.burnAt ? new Date(patch.burnAt) : row.burn_at;
    if (endsAt <= startsAt || burnAt < endsAt) {
      throw validationError([{ path: ['endsAt'], message: 'the campaign period must keep startsAt < endsAt <= burnAt' }]);
    }
    const versions = (await ruleVersionsByCampaign(trx, [id])).get(id) ?? [];
    if (patch.startsAt) {
      assertStartNotPast(startsAt, context.now);
      // The first version moves with the start; it must stay before any later version.
      const next = versions.find((version) => version.effectiveFrom > row.starts_at);
      if (next && startsAt >= next.effectiveFrom) {
        throw validationError([{ path: ['startsAt'], message: `must be before the next rules version (effective ${next.effectiveFrom.toISOString()})` }]);
      }
    }
    assertHoldFitsBeforeBurn(endsAt, burnAt, versions);
    const updated = await updateCampaignRow(trx, id, {
      ...(patch.name !== undefined && { name: patch.name }),
      ...(patch.description !== undefined && { description: patch.description }),
      ...(patch.terms !== undefined && { terms: patch.terms }),
      ...(patch.milestones !== undefined && { milestones: JSON.stringify(patch.milestones) }),
      ...(patch.storeCodes !== undefined && { store_codes: patch.storeCodes }),
      starts_at: startsAt,
      ends_at: endsAt,
      burn_at: burnAt,
    });
    if (patch.startsAt) {
      // Before the start the first rules version simply moves with the start.
      await trx.updateTable('campaign_rule_versions').set({ effective_from: startsAt }).where('campaign_id', '=', id).where('effective_from', '=', row.starts_at).execute();
    }
    await insertAuditEvent(trx, { actor: context.actor, action: 'campaign.updated', subjectType: 'campaign', subjectId: id, details: { ...patch } });
    return toCampaign(updated, (await ruleVersionsByCampaign(trx, [id])).get(id) ?? [], context.now);
  });
}

export const scheduleRulesInputSchema = z.strictObject({
  effectiveFrom: timestampSchema.describe('When the new rules take effect: now or later, after the latest existing version.'),
  rules: accrualRulesSchema,
});

/**
 * Adds a rules version. Never retroactive: purchases already made (and any made
 * before effectiveFrom) keep the rules that were in effect at their time.
 */
export async function scheduleRules(context: Context, id: string, rawInput: z.input<typeof scheduleRulesInputSchema>): Promise<Campaign> {
  const input = parseInput(scheduleRulesInputSchema, rawInput);
  const effectiveFrom = new Date(input.effectiveFrom);
  return context.tenant.db.transaction().execute(async (trx) => {
    const row = await requireCampaign({ ...context.tenant, db: trx }, id, { forUpdate: true });
    const versions = (await ruleVersionsByCampaign(trx, [id])).get(id) ?? [];
    const latest = versions.at(-1)?.effectiveFrom;
    if (effectiveFrom < context.now || (latest && effectiveFrom <= latest)) {
      throw new AppError('RULES_NOT_RETROACTIVE', 'New rules must take effect now or later, and after the latest scheduled version.', {
        effectiveFrom: effectiveFrom.toISOString(),
        now: context.now.toISOString(),
        latestVersionFrom: latest?.toISOString() ?? null,
      });
    }
    if (effectiveFrom >= row.ends_at) {
      throw new AppError('RULES_NOT_RETROACTIVE', 'New rules must take effect before the campaign ends.', { endsAt: row.ends_at.toISOString() });
    }
    assertHoldFitsBeforeBurn(row.ends_at, row.burn_at, [input]);
    await insertRuleVersion(trx, { campaignId: id, effectiveFrom, rules: input.rules, createdBy: context.actor });
    await insertAuditEvent(trx, { actor: context.actor, action: 'campaign.rules_scheduled', subjectType: 'campaign', subjectId: id, details: { effectiveFrom: input.effectiveFrom } });
    return toCampaign(row, (await ruleVersionsByCampaign(trx, [id])).get(id) ?? [], context.now);
  });
}
