import { customAlphabet } from 'nanoid';
import type { TenantHandle } from '../auth/principal.ts';
import { computeAccrual } from '../campaigns/accrual-rules.ts';
import { ruleVersionAt } from '../campaigns/campaign.ts';
import { lockCampaignsAccruingAt, ruleVersionsByCampaign } from '../campaigns/campaign.queries.ts';
import { assertNotBlocked, customerKeyOf, identifyOrEnrol } from '../customers/identify-customer.ts';
import type { TenantDb } from '../db/database.ts';
import { isUniqueViolation } from '../db/postgres-errors.ts';
import type { CampaignMilestone } from '../db/tables.ts';
import { AppError } from '../errors/app-error.ts';
import { parseInput, validationError } from '../errors/validation.ts';
import { runIdempotent } from '../idempotency/run-idempotent.ts';
import { getIssuerSettings } from '../issuer-settings/issuer-settings.ts';
import { appendOutboxEvent } from '../outbox/events.ts';
import type { Secrets } from '../secrets/secrets.ts';
import { computeBalance, type Balance } from '../stickers/balance.ts';
import { appendLedger, type NewLedgerRow } from '../stickers/ledger.queries.ts';
import { checkPurchase } from '../fraud/purchase-rules.ts';
import { blockingTransaction, FraudBlocked, recordHits, verdictOf, type HeldStickers } from '../fraud/record-cases.ts';
import { loadRules } from '../fraud/rules.ts';
import { linesMatchTotal, purchaseInputSchema, type PurchaseInput, type PurchaseResult } from './receipt.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;
const MAX_RECEIPT_AGE_MS = 90 * DAY_MS;

export const newPosId = (prefix: string) => {
  const id = customAlphabet('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz', 16);
  return () => `${prefix}_${id()}`;
};
const newPurchaseId = newPosId('pur');

export interface PosContext {
  tenant: TenantHandle;
  secrets: Secrets;
  now: Date;
  idempotencyKey: string | undefined;
}

/** Checks that need more than the schema: time window, currency, lines against total. */
export function checkReceipt(input: { occurredAt: string; currency?: string | undefined; totalMinor?: number; lines?: readonly { amountMinor: number }[] | undefined }, context: Pick<PosContext, 'tenant' | 'now'>): Date {
  const occurredAt = new Date(input.occurredAt);
  if (occurredAt.getTime() > context.now.getTime() + MAX_CLOCK_SKEW_MS) throw validationError([{ path: ['occurredAt'], message: 'is in the future; check the till clock' }]);
  if (occurredAt.getTime() < context.now.getTime() - MAX_RECEIPT_AGE_MS) throw validationError([{ path: ['occurredAt'], message: 'is more than 90 days ago' }]);
  if (input.currency !== undefined && input.currency !== context.tenant.currency) {
    throw new AppError('CURRENCY_MISMATCH', `Amounts must be in ${context.tenant.currency}, not ${input.currency}.`, { expected: context.tenant.currency, got: input.currency });
  }
  if (input.totalMinor !== undefined && input.lines && !linesMatchTotal(input.lines, input.totalMinor)) {
    const sum = input.lines.reduce((acc, line) => acc + line.amountMinor, 0);
    throw new AppError('RECEIPT_TOTAL_MISMATCH', `The lines add up to ${sum}, the total says ${input.totalMinor}.`, { linesSumMinor: sum, totalMinor: input.totalMinor });
  }
  return occurredAt;
}

/**
 * Records a purchase and credits its stickers: one transaction, one effect per
 * Idempotency-Key, serialised per customer by the customer row lock.
 */
export async function recordPurchase(context: PosContext, rawInput: PurchaseInput): Promise<{ result: PurchaseResult; replayed: boolean }> {
  const input = parseInput(purchaseInputSchema, rawInput);
  const occurredAt = checkReceipt(input, context);
  const { now, tenant } = context;
  return blockingTransaction(tenant.db, now, () =>
    tenant.db.transaction().execute((trx) =>
      runIdempotent(trx, { key: context.idempotencyKey, operation: 'pos.purchase', input, now, fingerprintKey: { secrets: context.secrets, tenantId: context.tenant.id } }, async () => {
        const settings = await getIssuerSettings(trx);
        const key = customerKeyOf(input.customer, { tenant, secrets: context.secrets, phoneRegion: settings.phoneRegion }, ['customer', 'phone']);
        const { customer, enrolled } = await identifyOrEnrol(trx, key, { autoEnrol: settings.autoEnrol, via: 'pos' });
        assertNotBlocked(customer);

        const purchaseId = newPurchaseId();
        try {
          await trx
            .insertInto('purchases')
            .values({
              id: purchaseId,
              store_code: input.storeCode,
              terminal_id: input.terminalId,
              cashier_id: input.cashierId ?? null,
              receipt_id: input.receiptId,
              occurred_at: occurredAt,
              recorded_at: now,
              customer_id: customer.id,
              total_minor: input.totalMinor,
              lines: JSON.stringify(input.lines),
            })
            .execute();
        } catch (error) {
          if (isUniqueViolation(error, 'purchases_receipt')) {
            throw new AppError('RECEIPT_ALREADY_RECORDED', `Receipt ${input.receiptId} of store ${input.storeCode} was already recorded.`, {
              storeCode: input.storeCode,
              receiptId: input.receiptId,
            });
          }
          throw error;
        }

        const campaigns = await lockCampaignsAccruingAt(trx, occurredAt, input.storeCode, now);
        const versions = await ruleVersionsByCampaign(trx, campaigns.map((campaign) => campaign.id));
        const accruals: { campaign: (typeof campaigns)[number]; stickers: number; availableAt: Date }[] = [];
        for (const campaign of campaigns) {
          const version = ruleVersionAt(versions.get(campaign.id) ?? [], occurredAt);
          if (!version) continue;
          const stickers = computeAccrual(version.rules, { totalMinor: input.totalMinor, lines: input.lines }).total;
          if (stickers <= 0) continue;
          accruals.push({ campaign, stickers, availableAt: new Date(occurredAt.getTime() + version.rules.holdDays * DAY_MS) });
        }

        // Anti-fraud, under the customer's lock: block rolls everything back, hold keeps
        // the stickers pending until a reviewer decides (docs/fraud.md).
        const findings = enrolled
          ? []
          : await checkPurchase(trx, await loadRules(trx, 'purchase'), {
              customerId: customer.id,
              purchaseId,
              storeCode: input.storeCode,
              cashierId: input.cashierId ?? null,
              occurredAt,
              stickers: accruals.reduce((sum, accrual) => sum + accrual.stickers, 0),
              timezone: tenant.timezone,
            });
        const verdict = verdictOf(findings);
        if (verdict === 'block') throw new FraudBlocked(findings, { kind: 'purchase', customerId: customer.id, reference: input.receiptId });

        const credited: PurchaseResult['credited'] = [];
        const held: HeldStickers[] = [];
        const rows: NewLedgerRow[] = [];
        for (const { campaign, stickers, availableAt } of accruals) {
          // A held accrual waits for the burn date: pending until a reviewer releases it.
          const effectiveAt = verdict === 'hold' ? campaign.burn_at : availableAt;
          rows.push({ customer_id: customer.id, campaign_id: campaign.id, kind: 'accrual', amount: stickers, available_at: effectiveAt, recorded_at: now, purchase_id: purchaseId, return_id: null, actor: null, reason: null, reference: input.receiptId });
          credited.push({ campaignId: campaign.id, campaignName: campaign.name, stickers, availableAt: effectiveAt.toISOString() });
          if (verdict === 'hold') held.push({ campaignId: campaign.id, stickers, availableAt: availableAt.toISOString(), heldUntil: campaign.burn_at.toISOString() });
        }
        await appendLedger(trx, rows);
        const review = findings.length
          ? await recordHits(trx, { findings, kind: 'purchase', customerId: customer.id, purchaseId, reference: input.receiptId, held, now })
          : undefined;

        const balance = await computeBalance(trx, customer.id, now, settings);
        const totals = new Map(balance.campaigns.map((row) => [row.campaignId, row.available + row.pending]));
        if (credited.length) {
          await appendOutboxEvent(trx, {
            type: 'stickers.credited',
            occurredAt: now,
            payload: {
              customerId: customer.id,
              purchaseId,
              storeCode: input.storeCode,
              receiptId: input.receiptId,
              purchasedAt: occurredAt.toISOString(),
              credited,
              balance: { available: balance.available, pending: balance.pending },
              campaigns: campaignBalances(balance, credited.map((entry) => entry.campaignId)),
              onHold: held.length > 0,
            },
          });
          // Held stickers reach no goal until a reviewer releases them.
          if (verdict !== 'hold') await announceReachableGoals(trx, { customerId: customer.id, campaigns, credited, totals, balance, now });
        }
        return {
          purchaseId,
          customerId: customer.id,
          enrolled,
          review: review?.primaryCaseId && verdict !== 'allow' ? { caseId: review.primaryCaseId, action: verdict, held: held.length > 0 } : null,
          credited,
          stickersCredited: credited.reduce((sum, entry) => sum + entry.stickers, 0),
          balance: { available: balance.available, pending: balance.pending },
          nextReward: nearestGoal(campaigns, totals),
        };
      }),
    ),
  );
}

type CampaignWithMilestones = { id: string; milestones: unknown };

/** Per-campaign balances of the campaigns an event is about, so a webhook consumer needs no call back. */
export function campaignBalances(balance: Balance, campaignIds: readonly string[]): { campaignId: string; available: number; pending: number }[] {
  return balance.campaigns
    .filter((row) => campaignIds.includes(row.campaignId))
    .map((row) => ({ campaignId: row.campaignId, available: row.available, pending: row.pending }));
}

/** When enough of the customer's stickers will be available for a goal: now, or a pending release date. */
function reachableFrom(balance: Balance, campaignId: string, goal: number, now: Date): string {
  let available = balance.campaigns.find((row) => row.campaignId === campaignId)?.available ?? 0;
  if (available >= goal) return now.toISOString();
  for (const release of balance.pendingReleases.filter((entry) => entry.campaignId === campaignId)) {
    available += release.stickers;
    if (available >= goal) return release.availableAt;
  }
  return now.toISOString();
}

function milestonesOf(campaign: CampaignWithMilestones): CampaignMilestone[] {
  return campaign.milestones as CampaignMilestone[];
}

function nearestGoal(campaigns: readonly CampaignWithMilestones[], totals: Map<string, number>): PurchaseResult['nextReward'] {
  let best: PurchaseResult['nextReward'] = null;
  for (const campaign of campaigns) {
    const have = totals.get(campaign.id) ?? 0;
    for (const milestone of milestonesOf(campaign)) {
      const needed = milestone.stickers - have;
      if (needed > 0 && (!best || needed < best.stickersNeeded)) best = { campaignId: campaign.id, label: milestone.label, stickersNeeded: needed };
    }
  }
  return best;
}

/** reward.reachable for every goal this purchase pushed the customer's total past. */
async function announceReachableGoals(
  trx: TenantDb,
  input: { customerId: string; campaigns: readonly CampaignWithMilestones[]; credited: PurchaseResult['credited']; totals: Map<string, number>; balance: Balance; now: Date },
): Promise<void> {
  for (const entry of input.credited) {
    const campaign = input.campaigns.find((candidate) => candidate.id === entry.campaignId);
    if (!campaign) continue;
    const after = input.totals.get(entry.campaignId) ?? 0;
    const before = after - entry.stickers;
    for (const milestone of milestonesOf(campaign)) {
      if (before < milestone.stickers && milestone.stickers <= after) {
        await appendOutboxEvent(trx, {
          type: 'reward.reachable',
          occurredAt: input.now,
          payload: {
            customerId: input.customerId,
            campaignId: entry.campaignId,
            goal: milestone,
            balance: after,
            reachableFrom: reachableFrom(input.balance, entry.campaignId, milestone.stickers, input.now),
          },
        });
      }
    }
  }
}
