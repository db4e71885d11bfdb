import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expireDueCampaigns } from '../server/src/stickers/expire-campaigns.ts';
import { spendStickers } from '../server/src/stickers/spend-stickers.ts';
import type { ManualClock } from '../server/src/system/clock.ts';
import type { TenantWithKey } from './support/factories.ts';
import { request } from './support/http-client.ts';
import { startIssuerWorld, type IssuerWorld, campaignBody, createCampaign, isoAfter, purchaseBody, recordPurchase, recordReturn } from './support/issuer.ts';
import type { TestSystem } from './support/test-system.ts';

let system: TestSystem;
let issuer: TenantWithKey;
let clock: ManualClock;
let db: IssuerWorld['db'];
let campaignId: string;

beforeAll(async () => {
  ({ system, issuer, clock, db } = await startIssuerWorld());
  // Long-running, for the concurrency test (store MSK-001 only).
  campaignId = (
    await createCampaign(
      system.baseUrl,
      issuer.key,
      campaignBody(clock.now(), { storeCodes: ['MSK-001'], endsAt: isoAfter(clock.now(), 3650), burnAt: isoAfter(clock.now(), 3700), rules: { perAmountMinor: 10_000, holdDays: 14 } }),
    )
  ).id;
});
afterAll(() => system.stop());


/**
 * The balance recomputed in plain code from the raw ledger rows: the reference the API
 * must match. Held stickers count as available from their release or the burn date.
 */
async function ledgerTruth(customerId: string, campaign = campaignId): Promise<{ available: number; total: number }> {
  const rows = await db()
    .selectFrom('sticker_ledger as l')
    .innerJoin('campaigns as c', 'c.id', 'l.campaign_id')
    .select(['l.amount', 'l.available_at', 'l.recorded_at', 'c.burn_at'])
    .where('l.customer_id', '=', customerId)
    .where('l.campaign_id', '=', campaign)
    .execute();
  const now = clock.now();
  return {
    total: rows.reduce((sum, row) => sum + row.amount, 0),
    // Released (or burned) by now; a debit effective when written counts at once.
    available: rows
      .filter((row) => Math.min(row.available_at.getTime(), row.burn_at.getTime()) <= now.getTime() || (row.amount < 0 && row.available_at <= row.recorded_at))
      .reduce((sum, row) => sum + row.amount, 0),
  };
}

async function apiBalance(customerId: string, campaign = campaignId): Promise<{ available: number; pending: number }> {
  const body = (await request(system.baseUrl, 'GET', `/api/v1/customers/${customerId}/balance`, { key: issuer.key })).body;
  const row = body.campaigns.find((c: { campaignId: string }) => c.campaignId === campaign) ?? { available: 0, pending: 0 };
  return { available: row.available, pending: row.pending };
}

type Command =
  | { kind: 'purchase'; totalMinor: number }
  | { kind: 'return'; which: number; share: number }
  | { kind: 'spend'; stickers: number }
  | { kind: 'wait'; days: number }
  | { kind: 'expire' };

const command: fc.Arbitrary<Command> = fc.oneof(
  fc.record({ kind: fc.constant('purchase' as const), totalMinor: fc.integer({ min: 1, max: 300_000 }) }),
  fc.record({ kind: fc.constant('return' as const), which: fc.nat(), share: fc.double({ min: 0.05, max: 1, noNaN: true }) }),
  fc.record({ kind: fc.constant('spend' as const), stickers: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ kind: fc.constant('wait' as const), days: fc.integer({ min: 1, max: 20 }) }),
  fc.constant({ kind: 'expire' as const }),
);

describe('sticker invariants', () => {
  it('keep every balance equal to its ledger, and no spend takes the available balance below zero (property)', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 3, maxLength: 14 }), async (commands) => {
        run += 1;
        // Each run gets its own store and campaign: purchases for 30 days, burn after 45,
        // so the random walk through time crosses hold releases, the end and the burn (day 45).
        const store = `PROP-${run}`;
        const start = clock.now();
        const campaign = (
          await createCampaign(system.baseUrl, issuer.key, campaignBody(start, { storeCodes: [store], endsAt: isoAfter(start, 30), burnAt: isoAfter(start, 45), rules: { perAmountMinor: 10_000, holdDays: 14 } }))
        ).id;
        const card = `PROP-${run}-${randomUUID().slice(0, 8)}`;
        // The model: stickers computed here from the campaign's terms, not taken from the API.
        const receipts: { receiptId: string; totalMinor: number; returnedMinor: number; credited: number; reversed: number }[] = [];
        let burned = false;
        let customerId: string | undefined;
        let expectedTotal = 0;
        for (const step of commands) {
          if (step.kind === 'purchase') {
            const body = purchaseBody(clock.now(), { storeCode: store, customer: { cardNumber: card }, totalMinor: step.totalMinor, lines: [{ sku: 'P', quantity: 1, amountMinor: step.totalMinor }] });
            const res = await recordPurchase(system.baseUrl, issuer.key, body);
            expect(res.status).toBe(200);
            customerId = res.body.customerId;
            // 1 sticker per full 100.00 while the campaign runs (30 days) and has not burned.
            const accruing = clock.now() < new Date(isoAfter(start, 30)) && !burned;
            const credited = accruing ? Math.floor(step.totalMinor / 10_000) : 0;
            expectedTotal += credited;
            receipts.push({ receiptId: body.receiptId, totalMinor: step.totalMinor, returnedMinor: 0, credited, reversed: 0 });
          } else if (step.kind === 'return' && receipts.length) {
            const receipt = receipts[step.which % receipts.length]!;
            const remaining = receipt.totalMinor - receipt.returnedMinor;
            if (remaining <= 0) continue;
            const amount = Math.max(1, Math.min(remaining, Math.round(receipt.totalMinor * step.share)));
            const res = await recordReturn(system.baseUrl, issuer.key, {
              storeCode: store,
              receiptId: receipt.receiptId,
              returnId: randomUUID(),
              occurredAt: clock.now().toISOString(),
              lines: [{ sku: 'P', quantity: 1, amountMinor: amount }],
            });
            expect(res.status).toBe(200);
            receipt.returnedMinor += amount;
            // Cumulative and proportional: floor(credited x returned / total), all of it on a full return.
            const target = receipt.returnedMinor >= receipt.totalMinor ? receipt.credited : Math.floor((receipt.credited * receipt.returnedMinor) / receipt.totalMinor);
            const reversedNow = burned || clock.now() >= new Date(isoAfter(start, 45)) ? 0 : target - receipt.reversed;
            if (!burned) receipt.reversed = target;
            expectedTotal -= reversedNow;
          } else if (step.kind === 'spend' && customerId) {
            const before = await apiBalance(customerId, campaign);
            try {
              await db().transaction().execute((trx) => spendStickers(trx, { customer: { id: customerId! }, campaignId: campaign, stickers: step.stickers, reference: 'prop', now: clock.now() }));
              expect(before.available).toBeGreaterThanOrEqual(step.stickers);
              expectedTotal -= step.stickers;
              expect((await apiBalance(customerId, campaign)).available).toBeGreaterThanOrEqual(0);
            } catch (error) {
              expect(error).toMatchObject({ code: 'INSUFFICIENT_STICKERS' });
              // Refused for want of stickers, or because the burn date has come.
              if (clock.now() < new Date(isoAfter(start, 45))) expect(before.available).toBeLessThan(step.stickers);
            }
          } else if (step.kind === 'wait') {
            clock.advanceDays(step.days);
          } else if (step.kind === 'expire') {
            const result = await expireDueCampaigns(db(), clock.now());
            // A burn takes every positive balance to zero; a debt stays on the books.
            if (result.burned.includes(campaign)) {
              burned = true;
              if (expectedTotal > 0) expectedTotal = 0;
            }
          }
          if (customerId) {
            const [api, truth] = await Promise.all([apiBalance(customerId, campaign), ledgerTruth(customerId, campaign)]);
            expect(api.available).toBe(truth.available);
            expect(api.available + api.pending).toBe(truth.total);
            expect(truth.total).toBe(expectedTotal);
          }
        }
      }),
      { numRuns: 40 },
    );
  });

  it('two tills and a spend on the same card at once: no double credit, no lost update, never below zero', async () => {
    const card = `TILLS-${randomUUID().slice(0, 8)}`;
    const seed = await recordPurchase(system.baseUrl, issuer.key, purchaseBody(clock.now(), { customer: { cardNumber: card }, totalMinor: 50_000, lines: [{ sku: 'S', quantity: 1, amountMinor: 50_000 }] }));
    const customerId = seed.body.customerId as string;
    clock.advanceDays(15); // 5 stickers available now
    const purchases = Array.from({ length: 12 }, (_, i) =>
      recordPurchase(
        system.baseUrl,
        issuer.key,
        purchaseBody(clock.now(), { terminalId: i % 2 ? 'till-A' : 'till-B', customer: { cardNumber: card }, totalMinor: 20_000, lines: [{ sku: 'S', quantity: 1, amountMinor: 20_000 }] }),
      ),
    );
    const spends = Array.from({ length: 8 }, () =>
      db()
        .transaction()
        .execute((trx) => spendStickers(trx, { customer: { id: customerId }, campaignId, stickers: 1, reference: 'concurrent', now: clock.now() }))
        .then(
          () => 'spent',
          (error: { code?: string }) => error.code,
        ),
    );
    const [purchaseResults, spendResults] = await Promise.all([Promise.all(purchases), Promise.all(spends)]);
    expect(purchaseResults.every((r) => r.status === 200 && r.body.stickersCredited === 2)).toBe(true);
    expect(spendResults.filter((r) => r === 'spent')).toHaveLength(5);
    expect(spendResults.filter((r) => r === 'INSUFFICIENT_STICKERS')).toHaveLength(3);
    const truth = await ledgerTruth(customerId);
    expect(truth).toEqual({ available: 0, total: 5 + 12 * 2 - 5 });
    const accruals = await db().selectFrom('sticker_ledger').select('id').where('customer_id', '=', customerId).where('kind', '=', 'accrual').execute();
    expect(accruals).toHaveLength(13);
  });

  it('a spend by a writer whose clock runs ahead still counts for a writer whose clock is behind (two processes, one customer)', async () => {
    const card = `SKEW-${randomUUID().slice(0, 8)}`;
    const seed = await recordPurchase(system.baseUrl, issuer.key, purchaseBody(clock.now(), { customer: { cardNumber: card }, totalMinor: 150_000, lines: [{ sku: 'S', quantity: 1, amountMinor: 150_000 }] }));
    const customerId = seed.body.customerId as string;
    clock.advanceDays(15);
    const { available } = await ledgerTruth(customerId);
    expect(available).toBeGreaterThan(2);
    const behind = clock.now();
    const ahead = new Date(behind.getTime() + 2_000);
    const spend = (now: Date, stickers: number) =>
      db()
        .transaction()
        .execute((trx) => spendStickers(trx, { customer: { id: customerId }, campaignId, stickers, reference: 'skew', now }));
    // The process whose clock is ahead commits first; the one behind read its clock
    // before that commit and reaches the customer row after it.
    await spend(ahead, available - 1);
    await expect(spend(behind, 2)).rejects.toMatchObject({ code: 'INSUFFICIENT_STICKERS', details: { available: 1, required: 2 } });
    expect(await ledgerTruth(customerId)).toEqual({ available: 1, total: 1 });
  });
});
