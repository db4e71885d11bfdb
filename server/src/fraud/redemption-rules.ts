import type { CoalitionDb } from '../db/database.ts';
import type { FraudFinding } from './record-cases.ts';
import { activeRule, type RuleSet } from './rules.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
const MAX_EVIDENCE = 50;

export interface RedemptionFacts {
  partner: { id: string; slug: string };
  issuerTenantId: string;
  orderRef: string;
  shopperRef: string | null;
  now: Date;
}

/**
 * The redemption-side rule, run in the partner's redemption transaction (the redemption
 * already written, so it counts itself) for the issuer whose code it is. A finding is a
 * signal for the issuer's reviewers: the partner's redemption stands, so this rule can
 * only flag. Each finding names its subject (one shop account, or one order) in
 * `evidence.subjectKey`: one open case per subject gathers every hit.
 */
export async function checkRedemption(coalition: CoalitionDb, rules: RuleSet, facts: RedemptionFacts): Promise<FraudFinding[]> {
  const rule = activeRule(rules, 'redemption.shared_shopper');
  if (!rule) return [];
  const since = new Date(facts.now.getTime() - 30 * DAY_MS);
  const subjects: { by: 'shopperRef' | 'orderRef'; ref: string }[] = [{ by: 'orderRef', ref: facts.orderRef }];
  if (facts.shopperRef !== null) subjects.unshift({ by: 'shopperRef', ref: facts.shopperRef });

  const findings: FraudFinding[] = [];
  for (const subject of subjects) {
    const column = subject.by === 'shopperRef' ? 'r.shopper_ref' : 'r.order_ref';
    const rows = await coalition
      .selectFrom('redemptions as r')
      .innerJoin('vouchers as v', 'v.id', 'r.voucher_id')
      .select(['r.id', 'r.voucher_id', 'r.code_mask', 'r.order_ref', 'r.redeemed_at', 'v.customer_id'])
      .where('r.partner_tenant_id', '=', facts.partner.id)
      .where(column, '=', subject.ref)
      .where('r.redeemed_at', '>', since)
      .where('v.issuer_tenant_id', '=', facts.issuerTenantId)
      .orderBy('r.redeemed_at', 'desc')
      .limit(500)
      .execute();
    const customers = new Set(rows.map((row) => row.customer_id));
    if (customers.size <= rule.params.maxCustomers!) continue;
    const what = subject.by === 'shopperRef' ? `shop account ${subject.ref}` : `order ${subject.ref}`;
    findings.push({
      rule,
      summary: `${facts.partner.slug} redeemed codes of ${customers.size} of your customers on ${what} in 30 days (more than ${rule.params.maxCustomers})`,
      evidence: {
        subjectKey: `${subject.by === 'shopperRef' ? 'shopper' : 'order'}:${facts.partner.slug}:${subject.ref}`,
        partner: facts.partner.slug,
        [subject.by]: subject.ref,
        customers30d: customers.size,
        redemptions: rows.slice(0, MAX_EVIDENCE).map((row) => ({
          redemptionId: row.id,
          voucherId: row.voucher_id,
          codeMask: row.code_mask,
          orderRef: row.order_ref,
          customerId: row.customer_id,
          redeemedAt: row.redeemed_at.toISOString(),
        })),
      },
    });
  }
  return findings;
}
