import { coalitionDb, tenantDb } from '../../server/src/db/database.ts';
import { tenantSchemaName } from '../../server/src/db/schema-names.ts';
import { requireTenantRow } from '../../server/src/tenants/get-tenant.ts';
import { acceptInvitation, inviteUser } from '../../server/src/users/manage-users.ts';
import { startWorkerHost } from '../../server/src/jobs/worker-host.ts';
import { settlementRunJob } from '../../server/src/settlement/settlement-runs.ts';
import { periodBounds, periodLabel, previousPeriod } from '../../server/src/settlement/statement.ts';
import { monthOf } from '../../server/src/system/calendar.ts';
import { ManualClock } from '../../server/src/system/clock.ts';
import { activeAgreement, codeList, createReward, customersWithStickers, exchange, offerWithCodes, type ExchangeWorld } from './exchange.ts';
import { keyFor, tenantWithKey, uniqueSlug, type TenantWithKey } from './factories.ts';
import { request } from './http-client.ts';
import { campaignBody, createCampaign, purchaseBody, recordPurchase } from './issuer.ts';
import { createOffer, startImportWorkers, uploadCsv, waitForBatch } from './partner.ts';
import { seedEntry } from './settlement.ts';
import type { TestSystem } from './test-system.ts';

/**
 * What the tenant isolation matrix probes: tenant B's data (A's target), the tenants B
 * deals with, and A's own exchange data (so A's probes can reach the checks behind
 * "is this reward / customer / agreement mine", and so positive probes prove the
 * routes work at all for A).
 */
export interface World {
  a: TenantWithKey;
  b: TenantWithKey;
  bExtraKeyId: string;
  /** B's portal user (an admin) and a pending invitation of B's. */
  bUserId: string;
  bUserEmail: string;
  bInvitationId: string;
  /** B's issuer data: a campaign, two customers (by card), a receipt each, the key B used. */
  bCampaignId: string;
  bCustomerId: string;
  /** The case B's tightened daily-purchases rule opened on B's first card. */
  bFraudCaseId: string;
  bCards: [string, string];
  bReceipts: [string, string];
  bIdempotencyKey: string;
  /** B's partner data: an offer, an imported batch and one of its codes. */
  bOfferId: string;
  bBatchId: string;
  bCode: string;

  /** B's counterparty (both roles): partner of B's agreement in force, issuer of a proposal to B. */
  c: TenantWithKey;
  /** C's offer (with codes) that B's agreement covers and B's reward lists. */
  cOfferId: string;
  /** B (issuer) × C (partner), active: C proposed, B accepted. */
  bAgreementId: string;
  /** C (issuer) proposed to B (partner) over B's offer; awaits B's answer. */
  bIncomingProposalId: string;
  /** B (issuer) proposed to C (partner) over C's offer; awaits C's answer. */
  bOutgoingProposalId: string;
  /** B's reward under bAgreementId, paid with bCampaignId stickers. */
  bRewardId: string;
  /** B's customer holding stickers and one exchanged voucher. */
  bExchangeCustomerId: string;
  /** The exchange B made: its Idempotency-Key and body (replaying it would hand out the voucher's code). */
  bExchangeKey: string;
  bExchangeBody: { customer: { customerId: string }; rewardId: string };
  /** B's voucher as the exchange answered it: the plain code and the signed token are B's secrets. */
  bVoucher: { id: string; code: string; token: string };
  /** B's voucher signing key. */
  bKid: string;

  /**
   * B as a partner shop redeeming: E (an issuer) runs an agreement over B's offer, so two
   * of B's codes went to E's customers. B redeemed one (with an Idempotency-Key and an
   * order reference of its own); the other is issued and unused.
   */
  e: TenantWithKey;
  bRedeemedVoucher: { id: string; code: string; token: string; qrText: string };
  bOpenVoucher: { id: string; code: string; token: string; qrText: string };
  bRedemptionId: string;
  bRedeemKey: string;
  bRedeemBody: { code: string; orderRef: string; orderAmountMinor: number; currency: string };

  /** E (issuer) × B (partner), active: B's agreement as a partner shop. */
  bPartnerAgreementId: string;

  /**
   * B's settlement. The B×C agreement has been in force since the start of last month
   * (its acceptance seeded back) and charged B for one code then; B built and finalized
   * last month's statement, reconciled it with its own list and ran a settlement run
   * for last month. Months are the agreements' (Europe/Moscow), as YYYY-MM.
   */
  lastMonth: string;
  thisMonth: string;
  bStatementId: string;
  bStatementHash: string;
  bReconciliationId: string;
  bRunId: string;

  /** B's webhook endpoint (its secret is B's), and a delivery to it (a test event). */
  bEndpointId: string;
  bEndpointSecret: string;
  bDeliveryId: string;

  /** A's own partner: A's own agreement, reward, customer and voucher run against D's offer. */
  d: TenantWithKey;
  dOfferId: string;
  aCampaignId: string;
  aAgreementId: string;
  aRewardId: string;
  aCustomerId: string;
  aVoucherId: string;
  /** B's voucher holding a code of D (A's partner), under B's own agreement with D. */
  bVoucherAtD: { id: string; code: string };
}

/** An ExchangeWorld view of an issuer/partner pair on the shared test system, for the support/exchange.ts helpers. */
function pairOf(system: TestSystem, issuer: TenantWithKey, partner: TenantWithKey, campaignId: string, workers: ExchangeWorld['workers']): ExchangeWorld {
  return {
    system,
    // Only stamps the seeded stickers' available_at: now (this file runs on the real clock).
    clock: new ManualClock(new Date()),
    workers,
    issuer,
    partner,
    campaignId,
    issuerDb: () => tenantDb(system.services.db, tenantSchemaName(issuer.tenant.slug)),
    partnerDb: () => tenantDb(system.services.db, tenantSchemaName(partner.tenant.slug)),
    stop: async () => {},
  };
}

function ok(res: { status: number; body: any }, what: string): any {
  if (res.status !== 200) throw new Error(`${what}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

export async function buildIsolationWorld(system: TestSystem): Promise<World> {
  const { baseUrl } = system;
  const a = await tenantWithKey(system.services, { scopes: ['admin'] });
  const b = await tenantWithKey(system.services, { scopes: ['admin'] });
  const c = await tenantWithKey(system.services, { slug: uniqueSlug('counterparty'), scopes: ['admin'] });
  const d = await tenantWithKey(system.services, { slug: uniqueSlug('own-partner'), roles: ['partner'], scopes: ['admin'] });
  const bExtra = await keyFor(system.services, b.tenant.slug, ['codes:redeem']);
  const bScope = { tenantId: (await requireTenantRow(system.services.db, b.tenant.slug)).id, tenantSlug: b.tenant.slug };
  const bUserEmail = `admin@${b.tenant.slug}.example`;
  const bUserInvite = await inviteUser(system.services.db, bScope, { email: bUserEmail, roles: ['admin'], actor: 'test' }, new Date());
  const bUser = await acceptInvitation(system.services.db, { token: bUserInvite.token, displayName: 'B admin', password: 'b admin password 1' }, new Date());
  const bInvitation = await inviteUser(system.services.db, bScope, { email: `pending@${b.tenant.slug}.example`, roles: ['finance'], actor: 'test' }, new Date());
  const now = new Date();

  // B as an issuer: a campaign, two customers with a purchase each.
  const campaign = await createCampaign(baseUrl, b.key, campaignBody(now));
  const bCards: [string, string] = ['B-CARD-0001', 'B-CARD-0002'];
  const bReceipts: [string, string] = ['B-R-1', 'B-R-2'];
  const bIdempotencyKey = 'b-purchase-key-1';
  const first = await recordPurchase(baseUrl, b.key, purchaseBody(now, { receiptId: bReceipts[0], customer: { cardNumber: bCards[0] } }), bIdempotencyKey);
  await recordPurchase(baseUrl, b.key, purchaseBody(now, { receiptId: bReceipts[1], customer: { cardNumber: bCards[1] } }));
  // B's anti-fraud: a rule B tightened, and the case it opened on B's first card.
  await request(baseUrl, 'PATCH', '/api/v1/fraud/rules/velocity.daily_purchases', { key: b.key, body: { action: 'flag', params: { maxPurchases: 1 } } });
  await recordPurchase(baseUrl, b.key, purchaseBody(now, { receiptId: 'B-R-3', customer: { cardNumber: bCards[0] } }));
  const bFraudCaseId: string = (await request(baseUrl, 'GET', '/api/v1/fraud/cases', { key: b.key })).body.cases[0].id;

  const workers = await startImportWorkers(system.services);
  try {
    // B as a partner: an offer with an imported batch.
    const bOffer = await createOffer(baseUrl, b.key);
    const bCode = 'B-SECRET-CODE-0001';
    const bBatch = await waitForBatch(baseUrl, b.key, (await uploadCsv(baseUrl, b.key, bOffer.id, `${bCode}\nB-SECRET-CODE-0002\n`)).body.id);

    // B's exchange: C's offer, the B×C agreement, B's reward, a customer with stickers, one voucher.
    const bc = pairOf(system, b, c, campaign.id, workers);
    const cOffer = await offerWithCodes(bc, codeList('C-SECRET-VOUCHER-', 3));
    const bAgreement = await activeAgreement(bc, [cOffer.id]);
    const bReward = await createReward(bc, { agreementId: bAgreement.id, offerId: cOffer.id, title: 'B reward' });
    const [bExchangeCustomerId] = await customersWithStickers(bc, 1, 50);
    const bExchangeKey = 'b-exchange-key-1';
    const bExchangeBody = { customer: { customerId: bExchangeCustomerId! }, rewardId: bReward.id as string };
    const bVoucher = ok(await exchange(bc, bExchangeBody, bExchangeKey), 'B exchange');
    const bKeys = ok(await request(baseUrl, 'GET', '/api/v1/signing-keys', { key: b.key }), 'B signing keys');

    // Two live proposals between B and C, one each way.
    const terms = { name: 'Pending terms', model: { type: 'issuer_pays_per_issued', amountMinor: 1_000 }, currency: 'RUB' };
    const incoming = ok(await request(baseUrl, 'POST', '/api/v1/agreements', { key: c.key, body: { ...terms, partner: b.tenant.slug, offerIds: [bOffer.id] } }), 'C proposal to B');
    const outgoing = ok(await request(baseUrl, 'POST', '/api/v1/agreements', { key: b.key, body: { ...terms, partner: c.tenant.slug, offerIds: [cOffer.id] } }), 'B proposal to C');

    // B as a partner: E's customers hold B's two codes; B redeemed one of them.
    const e = await tenantWithKey(system.services, { slug: uniqueSlug('redeem-issuer'), roles: ['issuer'], scopes: ['admin'] });
    const eCampaign = await createCampaign(baseUrl, e.key, campaignBody(now));
    const eb = pairOf(system, e, b, eCampaign.id, workers);
    const ebAgreement = await activeAgreement(eb, [bOffer.id]);
    const eReward = await createReward(eb, { agreementId: ebAgreement.id, offerId: bOffer.id, title: 'E reward' });
    const eCustomers = await customersWithStickers(eb, 2, 10);
    const voucherOf = async (customerId: string) => {
      const body = ok(await exchange(eb, { customer: { customerId }, rewardId: eReward.id }), 'E exchange');
      return { id: body.id as string, code: body.code as string, token: body.token as string, qrText: body.qrText as string };
    };
    const bRedeemedVoucher = await voucherOf(eCustomers[0]!);
    const bOpenVoucher = await voucherOf(eCustomers[1]!);
    const bRedeemKey = 'b-redeem-key-1';
    const bRedeemBody = { code: bRedeemedVoucher.code, orderRef: 'B-SECRET-ORDER-7731', orderAmountMinor: 400_000, currency: 'RUB' };
    const bRedemption = ok(await request(baseUrl, 'POST', '/api/v1/redemptions', { key: b.key, body: bRedeemBody, headers: { 'idempotency-key': bRedeemKey } }), 'B redemption');

    // B's settlement: last month's statement of the B×C agreement, finalized and
    // reconciled by B, and a run B asked for. The agreement is accepted now; seeding its
    // acceptance back to the start of last month (and one charge then) gives B a month
    // that has ended, so its statement can be finalized on the real clock.
    const thisMonth = monthOf(now, bAgreement.timezone);
    const lastMonth = previousPeriod(thisMonth);
    const lastMonthStart = periodBounds(lastMonth, bAgreement.timezone).start;
    await coalitionDb(system.services.db)
      .updateTable('agreements')
      .set({ proposed_at: lastMonthStart, accepted_at: lastMonthStart, valid_from: lastMonthStart, created_at: lastMonthStart })
      .where('id', '=', bAgreement.id)
      .execute();
    await seedEntry(bc, bAgreement.id, { voucherId: bVoucher.id, offerId: cOffer.id, event: 'code_issued', amountMinor: 5_000, occurredAt: new Date(lastMonthStart.getTime() + 86_400_000) });
    const settlement = (method: string, path: string, body?: unknown) => request(baseUrl, method, `/api/v1/settlement${path}`, { key: b.key, ...(body === undefined ? {} : { body }) });
    const bDraft = ok(await settlement('POST', '/statements', { agreementId: bAgreement.id, period: periodLabel(lastMonth) }), 'B statement');
    const bStatement = ok(await settlement('POST', `/statements/${bDraft.id}/finalize`, { expectedContentHash: bDraft.contentHash }), 'B finalize');
    const reconciled = await fetch(`${baseUrl}/api/v1/settlement/statements/${bStatement.id}/reconciliations?filename=B-SECRET-LEDGER-1.csv`, {
      method: 'POST',
      headers: { authorization: `Bearer ${b.key}`, 'content-type': 'text/csv' },
      body: `voucher_id,amount_minor\n${bVoucher.id},5000\n`,
    });
    const bReconciliation = (await reconciled.json()) as { id: string; reconciled: boolean };
    if (reconciled.status !== 201 || !bReconciliation.reconciled) throw new Error(`B reconciliation: ${reconciled.status} ${JSON.stringify(bReconciliation)}`);
    // B's run is carried out here, so that nothing of B's is left queued for a later worker to change.
    const bRun = ok(await settlement('POST', '/runs', { period: periodLabel(lastMonth) }), 'B run');
    const settlementWorkers = await startWorkerHost({ services: system.services, definitions: [settlementRunJob] });
    try {
      const deadline = Date.now() + 30_000;
      while (ok(await settlement('GET', `/runs/${bRun.id}`), 'B run').status !== 'succeeded') {
        if (Date.now() > deadline) throw new Error(`B run ${bRun.id} did not succeed`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      await settlementWorkers.close();
    }

    // B's webhook endpoint and one delivery (nothing sends it here: it stays pending).
    const bEndpoint = ok(
      await request(baseUrl, 'POST', '/api/v1/webhooks/endpoints', { key: b.key, body: { url: 'https://hooks.b-tenant.example/coalition', description: 'B-SECRET-ENDPOINT' } }),
      'B endpoint',
    );
    const bTest = ok(await request(baseUrl, 'POST', `/api/v1/webhooks/endpoints/${bEndpoint.id}/test`, { key: b.key }), 'B test event');

    // A's own exchange data, against its own partner D.
    const aCampaign = await createCampaign(baseUrl, a.key, campaignBody(now));
    const ad = pairOf(system, a, d, aCampaign.id, workers);
    const dOffer = await offerWithCodes(ad, codeList('D-CODE-', 10));
    const aAgreement = await activeAgreement(ad, [dOffer.id]);
    const aReward = await createReward(ad, { agreementId: aAgreement.id, offerId: dOffer.id, title: 'A reward' });
    const [aCustomerId] = await customersWithStickers(ad, 1, 100);
    const aVoucher = ok(await exchange(ad, { customer: { customerId: aCustomerId }, rewardId: aReward.id }), 'A exchange');

    // D deals with B too: B (issuer) runs an agreement over another offer of D's, and one
    // of D's codes went to B's customer. A may come to know such a code (a shopper shows it).
    const bd = pairOf(system, b, d, campaign.id, workers);
    const dOfferOfB = await offerWithCodes(bd, codeList('D-FOR-B-SECRET-', 2));
    const bdAgreement = await activeAgreement(bd, [dOfferOfB.id]);
    const bdReward = await createReward(bd, { agreementId: bdAgreement.id, offerId: dOfferOfB.id, title: 'B reward at D' });
    const [bdCustomerId] = await customersWithStickers(bd, 1, 10);
    const bVoucherAtD = ok(await exchange(bd, { customer: { customerId: bdCustomerId }, rewardId: bdReward.id }), 'B exchange at D');

    return {
      a,
      b,
      bExtraKeyId: bExtra.apiKey.id,
      bUserId: bUser.id,
      bUserEmail,
      bInvitationId: bInvitation.invitation.id,
      bCampaignId: campaign.id,
      bCustomerId: first.body.customerId,
      bFraudCaseId,
      bCards,
      bReceipts,
      bIdempotencyKey,
      bOfferId: bOffer.id,
      bBatchId: bBatch.id,
      bCode,
      c,
      cOfferId: cOffer.id,
      bAgreementId: bAgreement.id,
      bIncomingProposalId: incoming.id,
      bOutgoingProposalId: outgoing.id,
      bRewardId: bReward.id,
      bExchangeCustomerId: bExchangeCustomerId!,
      bExchangeKey,
      bExchangeBody,
      bVoucher: { id: bVoucher.id, code: bVoucher.code, token: bVoucher.token },
      bKid: bKeys.keys[0].kid,
      e,
      bRedeemedVoucher,
      bOpenVoucher,
      bRedemptionId: bRedemption.id,
      bRedeemKey,
      bRedeemBody,
      bPartnerAgreementId: ebAgreement.id,
      lastMonth: periodLabel(lastMonth),
      thisMonth: periodLabel(thisMonth),
      bStatementId: bStatement.id,
      bStatementHash: bStatement.contentHash,
      bReconciliationId: bReconciliation.id,
      bRunId: bRun.id,
      bEndpointId: bEndpoint.id,
      bEndpointSecret: bEndpoint.secret,
      bDeliveryId: bTest.deliveryId,
      d,
      dOfferId: dOffer.id,
      aCampaignId: aCampaign.id,
      aAgreementId: aAgreement.id,
      aRewardId: aReward.id,
      aCustomerId: aCustomerId!,
      aVoucherId: aVoucher.id,
      bVoucherAtD: { id: bVoucherAtD.id, code: bVoucherAtD.code },
    };
  } finally {
    await workers.close();
  }
}
