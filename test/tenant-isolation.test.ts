import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coalitionDb, tenantDb } from '../server/src/db/database.ts';
import { tenantSchemaName } from '../server/src/db/schema-names.ts';
import { proceduresOf } from '../server/src/http/openapi.ts';
import { startWorkerHost } from '../server/src/jobs/worker-host.ts';
import { settlementRunJob } from '../server/src/settlement/settlement-runs.ts';
import { appRouter } from '../server/src/trpc/app-router.ts';
import type { ProcedureMeta } from '../server/src/trpc/trpc.ts';
import { operatorKey } from './support/factories.ts';
import { request, trpcCall, type ApiResponse } from './support/http-client.ts';
import { campaignBody, isoAfter, purchaseBody } from './support/issuer.ts';
import { buildIsolationWorld, type World } from './support/isolation-world.ts';
import { exportCodes, offerBody, rejectReport, uploadCsv } from './support/partner.ts';
import { startTestSystem, type TestSystem } from './support/test-system.ts';

/**
 * Invariant 5: no principal of tenant A can read or change anything of tenant B, through
 * any route. Every procedure of the router must have a row here (a test below fails
 * otherwise), so each new route lands with its cross-tenant probes.
 *
 * A probe is a call made with tenant A's admin key that names or could reach tenant B's
 * data. It must be refused (403/404) or answer with A's own data only. The world
 * (support/isolation-world.ts) gives B issuer, partner and exchange data, a counterparty
 * C with an agreement in force and two live proposals, and gives A its own exchange data
 * against its own partner D, so probes reach the "is it mine" checks behind each route.
 */
type Face = 'REST' | 'tRPC';

type Probe = { headers?: Record<string, string> } & (
  | { input: unknown; refusedWith: { status: 400 | 403 | 404 | 422; code: string } }
  | { input: unknown; answersWithOwnDataOnly: true }
  /** Answers 200 with `valid: false` for this reason and nothing of the voucher or its offer (a code check). */
  | { input: unknown; validatesAs: 'UNKNOWN_CODE' | 'WRONG_PARTNER' }
  /**
   * Public by design (a JWKS): answers 200 with public verifying keys only, listing the
   * markers in `publicByDesign` (B's own public key ids); every other marker of B must
   * stay out.
   */
  | { input: unknown; answersWithPublicKeysOnly: true; publicByDesign: string[] }
);

const notFound = (code: string) => ({ status: 404 as const, code });

/** What validate answers when the code or voucher is not one of the caller's. */
const NOTHING_OF_THE_CODE = { voucherId: null, issuer: null, codeMask: null, offerId: null, offer: null, discountMinor: null, expiresAt: null, redeemedAt: null, redemptionId: null };

/** Terms of an agreement proposal; the caller names the other side and the offers. */
const proposal = (sideAndOffers: { partner?: string; issuer?: string; offerIds: string[] }) => ({
  name: 'Probe terms',
  model: { type: 'issuer_pays_per_issued', amountMinor: 1_000 },
  currency: 'RUB',
  ...sideAndOffers,
});
/** What a public JWK may hold: an Ed25519 public key and its labels, never the private part (`d`). */
const PUBLIC_JWK_FIELDS = ['alg', 'crv', 'kid', 'kty', 'use', 'x'];

const MATRIX: Record<string, (world: World, face: Face) => Probe[]> = {
  // public / any key
  version: () => [{ input: undefined, answersWithOwnDataOnly: true }],
  me: () => [{ input: undefined, answersWithOwnDataOnly: true }],
  // tenant: API keys
  'apiKeys.list': () => [{ input: undefined, answersWithOwnDataOnly: true }],
  'apiKeys.get': (w) => [
    { input: { keyId: w.b.keyId }, refusedWith: { status: 404, code: 'API_KEY_NOT_FOUND' } },
    { input: { keyId: w.bExtraKeyId }, refusedWith: { status: 404, code: 'API_KEY_NOT_FOUND' } },
  ],
  'apiKeys.revoke': (w) => [
    { input: { keyId: w.b.keyId }, refusedWith: { status: 404, code: 'API_KEY_NOT_FOUND' } },
    { input: { keyId: w.bExtraKeyId }, refusedWith: { status: 404, code: 'API_KEY_NOT_FOUND' } },
  ],
  // A body naming B is refused outright (inputs are strict); a plain one creates A's key.
  'apiKeys.create': (w) => [
    { input: { name: 'probe', scopes: ['pos:write'], slug: w.b.tenant.slug }, refusedWith: { status: 400, code: 'VALIDATION_FAILED' } },
    { input: { name: 'probe', scopes: ['pos:write'], tenant: w.b.tenant.slug }, refusedWith: { status: 400, code: 'VALIDATION_FAILED' } },
    { input: { name: 'probe', scopes: ['pos:write'] }, answersWithOwnDataOnly: true },
  ],
  // tenant: portal users. A knows B's user and invitation ids and B's admin's address.
  'users.list': () => [{ input: {}, answersWithOwnDataOnly: true }],
  // Inviting an address that has an account at B says nothing about it: A's invitation is
  // made (it fails only when its holder accepts, for them to see).
  'users.invite': (w, face) => [
    { input: { email: `probe-${face.toLowerCase()}@a.example`, roles: ['marketer'] }, answersWithOwnDataOnly: true },
    { input: { email: w.bUserEmail, roles: ['admin'], tenantSlug: w.b.tenant.slug }, refusedWith: { status: 400, code: 'VALIDATION_FAILED' } },
  ],
  'users.revokeInvitation': (w) => [{ input: { invitationId: w.bInvitationId }, refusedWith: notFound('INVITATION_NOT_FOUND') }],
  'users.update': (w) => [{ input: { userId: w.bUserId, roles: ['marketer'] }, refusedWith: notFound('USER_NOT_FOUND') }],
  'users.resetPassword': (w) => [{ input: { userId: w.bUserId }, refusedWith: notFound('USER_NOT_FOUND') }],
  'users.disable': (w) => [{ input: { userId: w.bUserId }, refusedWith: notFound('USER_NOT_FOUND') }],
  'users.enable': (w) => [{ input: { userId: w.bUserId }, refusedWith: notFound('USER_NOT_FOUND') }],
  'operator.users.invite': (w) => [{ input: { tenantSlug: w.b.tenant.slug, email: 'x@b.example', roles: ['admin'] }, refusedWith: { status: 403, code: 'FORBIDDEN' } }],
  'operator.auditEvents.list': () => [{ input: {}, refusedWith: { status: 403, code: 'FORBIDDEN' } }],
  'operator.users.list': (w) => [{ input: { tenantSlug: w.b.tenant.slug }, refusedWith: { status: 403, code: 'FORBIDDEN' } }],
  'operator.users.disable': (w) => [{ input: { userId: w.bUserId }, refusedWith: { status: 403, code: 'FORBIDDEN' } }],
  // tenant: audit trail (tenant schema)
  'auditEvents.list': () => [{ input: {}, answersWithOwnDataOnly: true }],
  // operator routes: a tenant key never gets in, whatever it names
  'operator.tenants.create': () => [
    { input: { slug: 'probe-tenant', displayName: 'x', roles: ['issuer'], timezone: 'UTC', currency: 'EUR' }, refusedWith: { status: 403, code: 'FORBIDDEN' } },
  ],
  'operator.tenants.list': () => [{ input: {}, refusedWith: { status: 403, code: 'FORBIDDEN' } }],
  'operator.tenants.get': (w) => [{ input: { slug: w.b.tenant.slug }, refusedWith: { status: 403, code: 'FORBIDDEN' } }],
  'operator.tenants.update': (w) => [{ input: { slug: w.b.tenant.slug, status: 'suspended' }, refusedWith: { status: 403, code: 'FORBIDDEN' } }],
  'operator.apiKeys.create': (w) => [{ input: { slug: w.b.tenant.slug, name: 'x', scopes: ['admin'] }, refusedWith: { status: 403, code: 'FORBIDDEN' } }],
  'operator.apiKeys.list': (w) => [{ input: { slug: w.b.tenant.slug }, refusedWith: { status: 403, code: 'FORBIDDEN' } }],
  'operator.apiKeys.revoke': (w) => [{ input: { keyId: w.b.keyId }, refusedWith: { status: 403, code: 'FORBIDDEN' } }],
  // issuer: settings and campaigns (tenant schema)
  'issuerSettings.get': () => [{ input: undefined, answersWithOwnDataOnly: true }],
  'issuerSettings.update': () => [{ input: { expiringSoonDays: 3 }, answersWithOwnDataOnly: true }],
  'campaigns.create': () => [{ input: campaignBody(new Date()), answersWithOwnDataOnly: true }],
  'campaigns.list': () => [{ input: undefined, answersWithOwnDataOnly: true }],
  'campaigns.get': (w) => [{ input: { campaignId: w.bCampaignId }, refusedWith: notFound('CAMPAIGN_NOT_FOUND') }],
  'campaigns.update': (w) => [{ input: { campaignId: w.bCampaignId, name: 'hijacked' }, refusedWith: notFound('CAMPAIGN_NOT_FOUND') }],
  'campaigns.scheduleRules': (w) => [
    { input: { campaignId: w.bCampaignId, effectiveFrom: isoAfter(new Date(), 1), rules: { perAmountMinor: 1 } }, refusedWith: notFound('CAMPAIGN_NOT_FOUND') },
  ],
  // issuer: customers. Card numbers are per issuer: A enrolling B's card makes A's own customer.
  'customers.enrol': (w, face) => [{ input: { cardNumber: face === 'REST' ? w.bCards[0] : `${w.bCards[0]}-T` }, answersWithOwnDataOnly: true }],
  'customers.lookup': (w) => [{ input: { cardNumber: w.bCards[1] }, refusedWith: notFound('CUSTOMER_NOT_FOUND') }],
  'customers.attachIdentity': (w) => [{ input: { customerId: w.bCustomerId, cardNumber: 'PROBE-1' }, refusedWith: notFound('CUSTOMER_NOT_FOUND') }],
  // tenant: anti-fraud. A's rules and queue are A's own; B's case is not found.
  'fraud.rules.list': () => [{ input: undefined, answersWithOwnDataOnly: true }],
  'fraud.rules.update': () => [{ input: { ruleId: 'velocity.daily_purchases', params: { maxPurchases: 9 } }, answersWithOwnDataOnly: true }],
  'fraud.cases.list': (w) => [
    { input: {}, answersWithOwnDataOnly: true },
    { input: { customerId: w.bCustomerId }, answersWithOwnDataOnly: true },
  ],
  'fraud.cases.get': (w) => [{ input: { caseId: w.bFraudCaseId }, refusedWith: notFound('FRAUD_CASE_NOT_FOUND') }],
  'fraud.cases.decide': (w) => [{ input: { caseId: w.bFraudCaseId, decision: 'dismiss', reason: 'probe' }, refusedWith: notFound('FRAUD_CASE_NOT_FOUND') }],
  'customers.get': (w) => [{ input: { customerId: w.bCustomerId }, refusedWith: notFound('CUSTOMER_NOT_FOUND') }],
  'customers.block': (w) => [{ input: { customerId: w.bCustomerId, reason: 'probe' }, refusedWith: notFound('CUSTOMER_NOT_FOUND') }],
  'customers.unblock': (w) => [{ input: { customerId: w.bCustomerId }, refusedWith: notFound('CUSTOMER_NOT_FOUND') }],
  'customers.balance': (w) => [{ input: { customerId: w.bCustomerId }, refusedWith: notFound('CUSTOMER_NOT_FOUND') }],
  'customers.progress': (w) => [{ input: { customerId: w.bCustomerId }, refusedWith: notFound('CUSTOMER_NOT_FOUND') }],
  'customers.history': (w) => [{ input: { customerId: w.bCustomerId }, refusedWith: notFound('CUSTOMER_NOT_FOUND') }],
  'customers.adjust': (w) => [
    { input: { customerId: w.bCustomerId, campaignId: w.bCampaignId, stickers: 100, reason: 'probe' }, refusedWith: notFound('CUSTOMER_NOT_FOUND') },
  ],
  // POS: B's Idempotency-Key must not replay B's answer to A; B's receipt ids are A's to use.
  'pos.recordPurchase': (w, face) => [
    {
      input: purchaseBody(new Date(), { receiptId: `${w.bReceipts[0]}${face === 'REST' ? '' : '-T'}`, customer: { cardNumber: 'PROBE-POS' } }),
      headers: { 'idempotency-key': `${w.bIdempotencyKey}-${face}` },
      answersWithOwnDataOnly: true,
    },
    {
      input: purchaseBody(new Date(), { receiptId: `${w.bReceipts[0]}-again-${face}`, customer: { cardNumber: 'PROBE-POS' } }),
      // B's exact key (once: on the second face A would be reusing its own key).
      headers: { 'idempotency-key': face === 'REST' ? w.bIdempotencyKey : `${w.bIdempotencyKey}-tRPC-2` },
      answersWithOwnDataOnly: true,
    },
  ],
  'pos.recordReturn': (w, face) => [
    {
      input: { storeCode: 'MSK-001', receiptId: w.bReceipts[1], returnId: `RET-${face}`, occurredAt: new Date().toISOString() },
      headers: { 'idempotency-key': `probe-return-${face}` },
      refusedWith: notFound('PURCHASE_NOT_FOUND'),
    },
  ],
  // partner: offers, batches and codes (tenant schema; codes looked up by keyed hash)
  'offers.create': () => [{ input: offerBody(), answersWithOwnDataOnly: true }],
  'offers.list': () => [{ input: undefined, answersWithOwnDataOnly: true }],
  'offers.get': (w) => [{ input: { offerId: w.bOfferId }, refusedWith: notFound('OFFER_NOT_FOUND') }],
  'offers.update': (w) => [{ input: { offerId: w.bOfferId, title: 'hijacked' }, refusedWith: notFound('OFFER_NOT_FOUND') }],
  'offers.setStatus': (w) => [{ input: { offerId: w.bOfferId, status: 'paused' }, refusedWith: notFound('OFFER_NOT_FOUND') }],
  'offers.poolState': (w) => [{ input: { offerId: w.bOfferId }, refusedWith: notFound('OFFER_NOT_FOUND') }],
  'codeBatches.generate': (w) => [{ input: { offerId: w.bOfferId, count: 10 }, refusedWith: notFound('OFFER_NOT_FOUND') }],
  'codeBatches.list': (w) => [{ input: { offerId: w.bOfferId }, refusedWith: notFound('OFFER_NOT_FOUND') }],
  'codeBatches.get': (w) => [{ input: { batchId: w.bBatchId }, refusedWith: notFound('BATCH_NOT_FOUND') }],
  'codeBatches.void': (w) => [{ input: { batchId: w.bBatchId, reason: 'probe' }, refusedWith: notFound('BATCH_NOT_FOUND') }],
  'codes.list': (w) => [{ input: { offerId: w.bOfferId }, refusedWith: notFound('OFFER_NOT_FOUND') }],
  'codes.find': (w) => [{ input: { code: w.bCode }, refusedWith: notFound('CODE_NOT_FOUND') }],
  // agreements (coalition schema; a tenant sees those it is a party to). Proposing TO B is
  // the feature itself (it adds to B's agreements and audit trail): no probe proposes to B
  // with offers that exist. Offers are looked up in the named partner's schema only, so
  // B's offer ids named for any other partner (or for A itself) do not exist.
  'agreements.propose': (w) => [
    { input: proposal({ partner: w.d.tenant.slug, offerIds: [w.dOfferId] }), answersWithOwnDataOnly: true },
    { input: proposal({ partner: w.c.tenant.slug, offerIds: [w.bOfferId] }), refusedWith: notFound('OFFER_NOT_FOUND') },
    { input: proposal({ partner: w.c.tenant.slug, offerIds: [w.cOfferId, w.bOfferId] }), refusedWith: notFound('OFFER_NOT_FOUND') },
    { input: proposal({ issuer: w.c.tenant.slug, offerIds: [w.bOfferId] }), refusedWith: notFound('OFFER_NOT_FOUND') },
    // To B with an offer B does not have: refused before anything is written to B.
    { input: proposal({ partner: w.b.tenant.slug, offerIds: ['off_000000000000'] }), refusedWith: notFound('OFFER_NOT_FOUND') },
  ],
  'agreements.list': (w) => [
    { input: undefined, answersWithOwnDataOnly: true },
    { input: { counterparty: w.b.tenant.slug }, answersWithOwnDataOnly: true },
    { input: { counterparty: w.c.tenant.slug, status: 'active' }, answersWithOwnDataOnly: true },
    { input: { side: 'partner', status: 'proposed' }, answersWithOwnDataOnly: true },
  ],
  'agreements.get': (w) => [
    { input: { agreementId: w.bAgreementId }, refusedWith: notFound('AGREEMENT_NOT_FOUND') },
    { input: { agreementId: w.bIncomingProposalId }, refusedWith: notFound('AGREEMENT_NOT_FOUND') },
    { input: { agreementId: w.bOutgoingProposalId }, refusedWith: notFound('AGREEMENT_NOT_FOUND') },
    { input: { agreementId: w.aAgreementId }, answersWithOwnDataOnly: true },
  ],
  'agreements.accept': (w) => [
    { input: { agreementId: w.bIncomingProposalId }, refusedWith: notFound('AGREEMENT_NOT_FOUND') },
    { input: { agreementId: w.bOutgoingProposalId }, refusedWith: notFound('AGREEMENT_NOT_FOUND') },
  ],
  'agreements.decline': (w) => [
    { input: { agreementId: w.bIncomingProposalId, reason: 'probe' }, refusedWith: notFound('AGREEMENT_NOT_FOUND') },
    { input: { agreementId: w.bOutgoingProposalId, reason: 'probe' }, refusedWith: notFound('AGREEMENT_NOT_FOUND') },
  ],
  'agreements.withdraw': (w) => [
    { input: { agreementId: w.bOutgoingProposalId, reason: 'probe' }, refusedWith: notFound('AGREEMENT_NOT_FOUND') },
    { input: { agreementId: w.bIncomingProposalId, reason: 'probe' }, refusedWith: notFound('AGREEMENT_NOT_FOUND') },
  ],
  'agreements.setStatus': (w) => [
    { input: { agreementId: w.bAgreementId, status: 'suspended', reason: 'probe' }, refusedWith: notFound('AGREEMENT_NOT_FOUND') },
    { input: { agreementId: w.bAgreementId, status: 'ended' }, refusedWith: notFound('AGREEMENT_NOT_FOUND') },
    { input: { agreementId: w.bIncomingProposalId, status: 'ended' }, refusedWith: notFound('AGREEMENT_NOT_FOUND') },
  ],
  'operator.agreements.create': (w) => [
    { input: { ...proposal({ offerIds: [w.bOfferId] }), issuer: w.a.tenant.slug, partner: w.b.tenant.slug }, refusedWith: { status: 403, code: 'FORBIDDEN' } },
  ],
  'operator.agreements.list': (w) => [
    { input: undefined, refusedWith: { status: 403, code: 'FORBIDDEN' } },
    { input: { tenant: w.b.tenant.slug }, refusedWith: { status: 403, code: 'FORBIDDEN' } },
  ],
  'operator.agreements.setStatus': (w) => [{ input: { agreementId: w.bAgreementId, status: 'ended' }, refusedWith: { status: 403, code: 'FORBIDDEN' } }],
  // rewards (issuer's tenant schema): only under an agreement where A is the issuer, paid
  // with A's own campaign, for an offer that agreement covers.
  'rewards.create': (w) => {
    const reward = (fields: Record<string, unknown>) => ({ title: 'Probe reward', stickerCost: 10, agreementId: w.aAgreementId, offerId: w.dOfferId, campaignId: w.aCampaignId, ...fields });
    return [
      { input: reward({}), answersWithOwnDataOnly: true },
      { input: reward({ agreementId: w.bAgreementId, offerId: w.cOfferId }), refusedWith: notFound('AGREEMENT_NOT_FOUND') },
      { input: reward({ agreementId: w.bAgreementId, offerId: w.cOfferId, campaignId: w.bCampaignId }), refusedWith: notFound('AGREEMENT_NOT_FOUND') },
      { input: reward({ agreementId: w.bOutgoingProposalId, offerId: w.cOfferId }), refusedWith: notFound('AGREEMENT_NOT_FOUND') },
      { input: reward({ agreementId: w.bIncomingProposalId, offerId: w.bOfferId }), refusedWith: notFound('AGREEMENT_NOT_FOUND') },
      { input: reward({ campaignId: w.bCampaignId }), refusedWith: notFound('CAMPAIGN_NOT_FOUND') },
      { input: reward({ offerId: w.bOfferId }), refusedWith: { status: 422, code: 'OFFER_NOT_IN_AGREEMENT' } },
    ];
  },
  'rewards.list': () => [
    { input: undefined, answersWithOwnDataOnly: true },
    { input: { status: 'active' }, answersWithOwnDataOnly: true },
  ],
  'rewards.get': (w) => [
    { input: { rewardId: w.bRewardId }, refusedWith: notFound('REWARD_NOT_FOUND') },
    { input: { rewardId: w.aRewardId }, answersWithOwnDataOnly: true },
  ],
  'rewards.update': (w) => [{ input: { rewardId: w.bRewardId, title: 'hijacked', stickerCost: 1 }, refusedWith: notFound('REWARD_NOT_FOUND') }],
  'rewards.setStatus': (w) => [
    { input: { rewardId: w.bRewardId, status: 'paused' }, refusedWith: notFound('REWARD_NOT_FOUND') },
    { input: { rewardId: w.bRewardId, status: 'archived' }, refusedWith: notFound('REWARD_NOT_FOUND') },
  ],
  catalog: (w) => [
    { input: undefined, answersWithOwnDataOnly: true },
    { input: { customerId: w.aCustomerId }, answersWithOwnDataOnly: true },
    { input: { customerId: w.bExchangeCustomerId }, refusedWith: notFound('CUSTOMER_NOT_FOUND') },
    { input: { customerId: w.bCustomerId }, refusedWith: notFound('CUSTOMER_NOT_FOUND') },
  ],
  // The exchange: B's reward and B's customers are not found by A, however named; B's
  // Idempotency-Key with B's exact body must not replay B's answer (B's code and token).
  exchange: (w, face) => {
    const key = (name: string) => ({ 'idempotency-key': `probe-${name}-${face}` });
    return [
      { input: { customer: { customerId: w.aCustomerId }, rewardId: w.aRewardId }, headers: key('own'), answersWithOwnDataOnly: true },
      { input: { customer: { customerId: w.aCustomerId }, rewardId: w.bRewardId }, headers: key('b-reward'), refusedWith: notFound('REWARD_NOT_FOUND') },
      { input: { customer: { customerId: w.bExchangeCustomerId }, rewardId: w.aRewardId }, headers: key('b-customer'), refusedWith: notFound('CUSTOMER_NOT_FOUND') },
      { input: { customer: { cardNumber: w.bCards[1] }, rewardId: w.aRewardId }, headers: key('b-card'), refusedWith: notFound('CUSTOMER_NOT_FOUND') },
      { input: { customer: { customerId: w.bExchangeCustomerId }, rewardId: w.bRewardId }, headers: key('b-both'), refusedWith: notFound('REWARD_NOT_FOUND') },
      { input: w.bExchangeBody, headers: { 'idempotency-key': w.bExchangeKey }, refusedWith: notFound('REWARD_NOT_FOUND') },
    ];
  },
  // vouchers (coalition schema, by issuer) and the issuer's signing keys
  'vouchers.listForCustomer': (w) => [
    { input: { customerId: w.bExchangeCustomerId }, refusedWith: notFound('CUSTOMER_NOT_FOUND') },
    { input: { customerId: w.bCustomerId }, refusedWith: notFound('CUSTOMER_NOT_FOUND') },
    { input: { customerId: w.aCustomerId }, answersWithOwnDataOnly: true },
    // B's voucher as the page cursor of A's own customer: a position in B's list is not A's.
    { input: { customerId: w.aCustomerId, cursor: w.bVoucher.id }, answersWithOwnDataOnly: true },
  ],
  'vouchers.get': (w) => [
    { input: { voucherId: w.bVoucher.id }, refusedWith: notFound('VOUCHER_NOT_FOUND') },
    { input: { voucherId: w.aVoucherId }, answersWithOwnDataOnly: true },
  ],
  'vouchers.cancel': (w) => [{ input: { voucherId: w.bVoucher.id, reason: 'probe' }, refusedWith: notFound('VOUCHER_NOT_FOUND') }],
  'signingKeys.list': () => [{ input: undefined, answersWithOwnDataOnly: true }],
  // activateInHours 0: no key left pending, so the second face can rotate again.
  'signingKeys.rotate': () => [{ input: { activateInHours: 0 }, answersWithOwnDataOnly: true }],
  'signingKeys.revoke': (w) => [{ input: { kid: w.bKid, reason: 'probe' }, refusedWith: notFound('SIGNING_KEY_NOT_FOUND') }],
  // Public by design: any caller (a partner verifying vouchers offline) reads any issuer's
  // verifying keys. "A's own data only" cannot hold for B's key set; what must hold is that
  // it is public keys only (no private `d`), so B's kid is the one marker it may show.
  jwks: (w) => [
    { input: { issuerSlug: w.b.tenant.slug }, answersWithPublicKeysOnly: true, publicByDesign: [w.bKid] },
    { input: { issuerSlug: w.a.tenant.slug }, answersWithOwnDataOnly: true },
  ],
  // redemption (partner side; codes looked up in the caller's own schema by keyed hash,
  // vouchers only for the partner they name, redemptions by partner): B's codes are
  // unknown to A however typed, B's signed vouchers are for another shop, B's redemptions
  // are not found, and B's Idempotency-Key with B's exact body does not replay B's answer.
  'redemptions.validate': (w) => [
    { input: { code: w.bRedeemedVoucher.code }, validatesAs: 'UNKNOWN_CODE' },
    { input: { code: w.bOpenVoucher.code.toLowerCase(), orderAmountMinor: 400_000, currency: 'RUB' }, validatesAs: 'UNKNOWN_CODE' },
    { input: { code: w.bCode }, validatesAs: 'UNKNOWN_CODE' },
    { input: { voucher: w.bOpenVoucher.token, orderAmountMinor: 400_000 }, validatesAs: 'WRONG_PARTNER' },
    { input: { voucher: w.bRedeemedVoucher.qrText }, validatesAs: 'WRONG_PARTNER' },
  ],
  'redemptions.redeem': (w, face) => {
    const body = (presented: Record<string, string>) => ({ ...presented, orderRef: `A-PROBE-${face}`, orderAmountMinor: 400_000, currency: 'RUB' });
    const key = (name: string) => ({ 'idempotency-key': `probe-redeem-${name}-${face}` });
    return [
      // B's key and body: refused, so not kept; the second face may send them again.
      { input: w.bRedeemBody, headers: { 'idempotency-key': w.bRedeemKey }, refusedWith: notFound('UNKNOWN_CODE') },
      { input: body({ code: w.bOpenVoucher.code }), headers: key('code'), refusedWith: notFound('UNKNOWN_CODE') },
      { input: body({ voucher: w.bOpenVoucher.token }), headers: key('token'), refusedWith: { status: 422, code: 'WRONG_PARTNER' } },
      { input: body({ voucher: w.bOpenVoucher.qrText }), headers: key('qr'), refusedWith: { status: 422, code: 'WRONG_PARTNER' } },
      { input: body({ voucher: w.bRedeemedVoucher.token }), headers: key('redeemed'), refusedWith: { status: 422, code: 'WRONG_PARTNER' } },
    ];
  },
  'redemptions.reverse': (w) => [{ input: { redemptionId: w.bRedemptionId, reason: 'probe' }, refusedWith: notFound('REDEMPTION_NOT_FOUND') }],
  'redemptions.get': (w) => [{ input: { redemptionId: w.bRedemptionId }, refusedWith: notFound('REDEMPTION_NOT_FOUND') }],
  'redemptions.list': (w) => [
    { input: {}, answersWithOwnDataOnly: true },
    { input: { code: w.bRedeemedVoucher.code }, answersWithOwnDataOnly: true },
    { input: { orderRef: w.bRedeemBody.orderRef }, answersWithOwnDataOnly: true },
    { input: { status: 'redeemed', limit: 200 }, answersWithOwnDataOnly: true },
    // B's redemption as a page cursor: a position in B's list is not A's.
    { input: { cursor: w.bRedemptionId }, refusedWith: { status: 400, code: 'VALIDATION_FAILED' } },
  ],
  // webhooks (coalition schema, keyed by tenant): B's endpoints and deliveries are not found by A.
  'webhooks.createEndpoint': (w) => [
    { input: { url: 'https://hooks.a-tenant.example/probe', tenant: w.b.tenant.slug }, refusedWith: { status: 400, code: 'VALIDATION_FAILED' } },
    { input: { url: 'https://hooks.a-tenant.example/probe' }, answersWithOwnDataOnly: true },
  ],
  'webhooks.listEndpoints': () => [{ input: undefined, answersWithOwnDataOnly: true }],
  'webhooks.getEndpoint': (w) => [{ input: { endpointId: w.bEndpointId }, refusedWith: notFound('WEBHOOK_ENDPOINT_NOT_FOUND') }],
  'webhooks.updateEndpoint': (w) => [{ input: { endpointId: w.bEndpointId, url: 'https://attacker.example/hooks' }, refusedWith: notFound('WEBHOOK_ENDPOINT_NOT_FOUND') }],
  'webhooks.disableEndpoint': (w) => [{ input: { endpointId: w.bEndpointId }, refusedWith: notFound('WEBHOOK_ENDPOINT_NOT_FOUND') }],
  'webhooks.enableEndpoint': (w) => [{ input: { endpointId: w.bEndpointId }, refusedWith: notFound('WEBHOOK_ENDPOINT_NOT_FOUND') }],
  'webhooks.rotateSecret': (w) => [{ input: { endpointId: w.bEndpointId }, refusedWith: notFound('WEBHOOK_ENDPOINT_NOT_FOUND') }],
  'webhooks.sendTest': (w) => [{ input: { endpointId: w.bEndpointId }, refusedWith: notFound('WEBHOOK_ENDPOINT_NOT_FOUND') }],
  'webhooks.listDeliveries': (w) => [
    { input: {}, answersWithOwnDataOnly: true },
    { input: { endpointId: w.bEndpointId }, answersWithOwnDataOnly: true },
    { input: { cursor: w.bDeliveryId }, refusedWith: { status: 400, code: 'VALIDATION_FAILED' } },
  ],
  'webhooks.getDelivery': (w) => [{ input: { deliveryId: w.bDeliveryId }, refusedWith: notFound('WEBHOOK_DELIVERY_NOT_FOUND') }],
  'webhooks.replayDelivery': (w) => [{ input: { deliveryId: w.bDeliveryId }, refusedWith: notFound('WEBHOOK_DELIVERY_NOT_FOUND') }],
  'webhooks.replayFailed': (w) => [
    { input: { since: '2020-01-01T00:00:00Z', endpointId: w.bEndpointId }, refusedWith: notFound('WEBHOOK_ENDPOINT_NOT_FOUND') },
    { input: { since: '2020-01-01T00:00:00Z' }, answersWithOwnDataOnly: true },
  ],
  // settlement (coalition schema): statements of the agreements the caller is a party to,
  // runs and reconciliations of the tenant that made them. B's statement is finalized, so
  // a step that got through would answer 200 or a transition error, never a 404.
  'settlement.startRun': (w) => [
    { input: {}, answersWithOwnDataOnly: true },
    { input: { period: w.lastMonth }, answersWithOwnDataOnly: true },
    { input: { period: w.lastMonth, tenant: w.b.tenant.slug }, refusedWith: { status: 400, code: 'VALIDATION_FAILED' } },
  ],
  'settlement.getRun': (w) => [{ input: { runId: w.bRunId }, refusedWith: notFound('SETTLEMENT_RUN_NOT_FOUND') }],
  'settlement.build': (w) => [
    { input: { agreementId: w.bAgreementId, period: w.lastMonth }, refusedWith: notFound('AGREEMENT_NOT_FOUND') },
    { input: { agreementId: w.bAgreementId, period: w.thisMonth }, refusedWith: notFound('AGREEMENT_NOT_FOUND') },
    { input: { agreementId: w.bPartnerAgreementId, period: w.thisMonth }, refusedWith: notFound('AGREEMENT_NOT_FOUND') },
    { input: { agreementId: w.bIncomingProposalId, period: w.thisMonth }, refusedWith: notFound('AGREEMENT_NOT_FOUND') },
    { input: { agreementId: w.aAgreementId, period: w.thisMonth }, answersWithOwnDataOnly: true },
  ],
  'settlement.list': (w) => [
    { input: {}, answersWithOwnDataOnly: true },
    { input: { agreementId: w.bAgreementId }, answersWithOwnDataOnly: true },
    { input: { period: w.lastMonth, status: 'finalized' }, answersWithOwnDataOnly: true },
    // B's statement as a page cursor: a position in B's list is not A's.
    { input: { cursor: w.bStatementId }, refusedWith: { status: 400, code: 'VALIDATION_FAILED' } },
  ],
  'settlement.get': (w) => [{ input: { statementId: w.bStatementId }, refusedWith: notFound('STATEMENT_NOT_FOUND') }],
  'settlement.verify': (w) => [{ input: { statementId: w.bStatementId }, refusedWith: notFound('STATEMENT_NOT_FOUND') }],
  'settlement.finalize': (w) => [
    // The hash is required of everyone: refused before any lookup.
    { input: { statementId: w.bStatementId }, refusedWith: { status: 400, code: 'VALIDATION_FAILED' } },
    { input: { statementId: w.bStatementId, expectedContentHash: w.bStatementHash }, refusedWith: notFound('STATEMENT_NOT_FOUND') },
  ],
  'settlement.pay': (w) => [{ input: { statementId: w.bStatementId, paymentReference: 'PROBE-PAYMENT' }, refusedWith: notFound('STATEMENT_NOT_FOUND') }],
  'settlement.dispute': (w) => [{ input: { statementId: w.bStatementId, reason: 'probe' }, refusedWith: notFound('STATEMENT_NOT_FOUND') }],
  'settlement.resolve': (w) => [{ input: { statementId: w.bStatementId, resolution: 'probe' }, refusedWith: notFound('STATEMENT_NOT_FOUND') }],
  'settlement.adjust': (w, face) => [
    { input: { statementId: w.bStatementId, amountMinor: 100, currency: 'RUB', reason: 'probe' }, headers: { 'idempotency-key': `probe-adjust-${face}` }, refusedWith: notFound('STATEMENT_NOT_FOUND') },
  ],
  'settlement.getReconciliation': (w) => [{ input: { reconciliationId: w.bReconciliationId }, refusedWith: notFound('RECONCILIATION_NOT_FOUND') }],
  // A's position and transfers only: last month is B's (A had no agreement in force), this month A's own draft.
  'settlement.netting': (w) => [
    { input: { period: w.lastMonth }, answersWithOwnDataOnly: true },
    { input: { period: w.thisMonth }, answersWithOwnDataOnly: true },
  ],
  'operator.settlement.netting': (w) => [{ input: { period: w.lastMonth }, refusedWith: { status: 403, code: 'FORBIDDEN' } }],
};

let system: TestSystem;
let world: World;
let operator: string;

beforeAll(async () => {
  system = await startTestSystem();
  world = await buildIsolationWorld(system);
  operator = await operatorKey(system.services);
});
afterAll(() => system.stop());

const procedures = proceduresOf(appRouter);

function restCall(path: string, input: unknown, key: string, headers: Record<string, string> = {}): Promise<ApiResponse> {
  const meta = procedures.find(([name]) => name === path)![1]._def.meta as ProcedureMeta;
  const { method, path: template } = meta.openapi!;
  const rest = { ...(input as Record<string, unknown> | undefined) };
  const url = template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = String(rest[name]);
    delete rest[name];
    return encodeURIComponent(value);
  });
  if (method === 'GET') {
    const query = new URLSearchParams(Object.entries(rest).map(([k, v]): [string, string] => [k, String(v)])).toString();
    return request(system.baseUrl, 'GET', `/api${url}${query ? `?${query}` : ''}`, { key, headers });
  }
  return request(system.baseUrl, method, `/api${url}`, { key, body: rest, headers });
}

function tenantBMarkers(): string[] {
  return [
    world.b.tenant.slug,
    world.b.keyId,
    world.bExtraKeyId,
    world.bUserId,
    world.bUserEmail,
    world.bInvitationId,
    world.bCampaignId,
    world.bCustomerId,
    world.bFraudCaseId,
    world.bOfferId,
    world.bBatchId,
    world.bCode,
    // B's exchange data; C's slug and offer only ever reach A through B's agreements.
    world.bAgreementId,
    world.bIncomingProposalId,
    world.bOutgoingProposalId,
    world.bRewardId,
    world.bExchangeCustomerId,
    world.bVoucher.id,
    world.bVoucher.code,
    world.bVoucher.token,
    world.bKid,
    world.c.tenant.slug,
    world.cOfferId,
    // B's redemptions: E (the issuer whose customers hold B's codes), the vouchers, codes and tokens, the order.
    world.e.tenant.slug,
    world.bRedemptionId,
    world.bRedeemBody.orderRef,
    ...[world.bRedeemedVoucher, world.bOpenVoucher].flatMap((voucher) => [voucher.id, voucher.code, voucher.token, voucher.qrText]),
    // B's webhooks.
    world.bEndpointId,
    world.bEndpointSecret,
    world.bDeliveryId,
    'hooks.b-tenant.example',
    'B-SECRET-ENDPOINT',
    // B's settlement: its agreement as a partner, its statement, its reconciliation (and the file's name) and run.
    world.bPartnerAgreementId,
    world.bStatementId,
    world.bStatementHash,
    world.bReconciliationId,
    'B-SECRET-LEDGER-1',
    world.bRunId,
    world.bVoucherAtD.id,
    world.bVoucherAtD.code,
  ];
}

async function snapshotOfB() {
  const keys = await request(system.baseUrl, 'GET', '/api/v1/api-keys', { key: world.b.key });
  const audit = await request(system.baseUrl, 'GET', '/api/v1/audit-events?limit=500', { key: world.b.key });
  const tenant = await request(system.baseUrl, 'GET', `/api/v1/operator/tenants/${world.b.tenant.slug}`, { key: operator });
  // lastUsedAt is bookkeeping written after the response; compare what B owns.
  const ownedKeys = keys.body.apiKeys.map(({ lastUsedAt: _ignored, ...key }: Record<string, unknown>) => key);
  const get = async (path: string) => (await request(system.baseUrl, 'GET', path, { key: world.b.key })).body;
  return {
    keys: ownedKeys,
    users: (await request(system.baseUrl, 'GET', '/api/v1/users', { key: world.b.key })).body,
    auditCount: audit.body.events.length,
    tenant: tenant.body,
    settings: await get('/api/v1/issuer/settings'),
    campaigns: await get('/api/v1/campaigns'),
    customer: await get(`/api/v1/customers/${world.bCustomerId}`),
    balance: await get(`/api/v1/customers/${world.bCustomerId}/balance`),
    history: await get(`/api/v1/customers/${world.bCustomerId}/history`),
    secondCustomer: await get(`/api/v1/customers/lookup?cardNumber=${world.bCards[1]}`),
    fraudRules: await get('/api/v1/fraud/rules'),
    fraudCase: await get(`/api/v1/fraud/cases/${world.bFraudCaseId}`),
    offers: await get('/api/v1/offers'),
    batch: await get(`/api/v1/code-batches/${world.bBatchId}`),
    pool: await get(`/api/v1/offers/${world.bOfferId}/pool`),
    // exchange: agreements (both proposals still awaiting an answer), rewards, the catalog,
    // the exchanging customer's stickers and vouchers, the voucher, the signing keys
    agreements: await get('/api/v1/agreements'),
    agreement: await get(`/api/v1/agreements/${world.bAgreementId}`),
    incomingProposal: await get(`/api/v1/agreements/${world.bIncomingProposalId}`),
    outgoingProposal: await get(`/api/v1/agreements/${world.bOutgoingProposalId}`),
    rewards: await get('/api/v1/rewards'),
    reward: await get(`/api/v1/rewards/${world.bRewardId}`),
    catalog: await get(`/api/v1/catalog?customerId=${world.bExchangeCustomerId}`),
    exchangeBalance: await get(`/api/v1/customers/${world.bExchangeCustomerId}/balance`),
    exchangeHistory: await get(`/api/v1/customers/${world.bExchangeCustomerId}/history`),
    vouchers: await get(`/api/v1/customers/${world.bExchangeCustomerId}/vouchers`),
    voucher: await get(`/api/v1/vouchers/${world.bVoucher.id}`),
    signingKeys: await get('/api/v1/signing-keys'),
    jwks: (await request(system.baseUrl, 'GET', `/api/v1/issuers/${world.b.tenant.slug}/jwks`)).body,
    // The pool behind B's voucher (C's): a cancel would return the code to it.
    voucherPool: (await request(system.baseUrl, 'GET', `/api/v1/offers/${world.cOfferId}/pool`, { key: world.c.key })).body,
    // B as a partner shop: its redemption, its list, its open voucher's code (still valid), and the vouchers as E sees them.
    redemption: await get(`/api/v1/redemptions/${world.bRedemptionId}`),
    redemptions: await get('/api/v1/redemptions'),
    openCode: (await request(system.baseUrl, 'POST', '/api/v1/codes/validate', { key: world.b.key, body: { code: world.bOpenVoucher.code } })).body,
    redeemedVoucher: (await request(system.baseUrl, 'GET', `/api/v1/vouchers/${world.bRedeemedVoucher.id}`, { key: world.e.key })).body,
    openVoucher: (await request(system.baseUrl, 'GET', `/api/v1/vouchers/${world.bOpenVoucher.id}`, { key: world.e.key })).body,
    endpoints: await get('/api/v1/webhooks/endpoints'),
    delivery: await get(`/api/v1/webhooks/deliveries/${world.bDeliveryId}`),
    // settlement: B's statements (with each party's latest reconciliation), the finalized
    // one, its exports, B's reconciliation and its report, B's run, B's netting; and the
    // statement as C (the other party) sees it.
    statements: await get('/api/v1/settlement/statements'),
    statement: await get(`/api/v1/settlement/statements/${world.bStatementId}`),
    statementVerified: await get(`/api/v1/settlement/statements/${world.bStatementId}/verify`),
    statementEntries: await get(`/api/v1/settlement/statements/${world.bStatementId}/entries.csv`),
    reconciliation: await get(`/api/v1/settlement/reconciliations/${world.bReconciliationId}`),
    reconciliationReport: await get(`/api/v1/settlement/reconciliations/${world.bReconciliationId}/report.csv`),
    run: await get(`/api/v1/settlement/runs/${world.bRunId}`),
    netting: await get(`/api/v1/settlement/netting?period=${world.lastMonth}`),
    counterpartyStatement: (await request(system.baseUrl, 'GET', `/api/v1/settlement/statements/${world.bStatementId}`, { key: world.c.key })).body,
  };
}

describe('tenant isolation matrix', () => {
  it('has probes for every procedure of the router', () => {
    expect(Object.keys(MATRIX).sort()).toEqual(procedures.map(([name]) => name).sort());
    for (const [name, procedure] of procedures) {
      const meta = procedure._def.meta as ProcedureMeta | undefined;
      expect(meta?.access, `${name} has no access level`).toBeDefined();
      expect(meta?.openapi, `${name} has no REST route`).toBeDefined();
    }
  });

  for (const face of ['REST', 'tRPC'] as const) {
    it(`refuses or scopes every probe of tenant A against tenant B over ${face}`, async () => {
      const before = await snapshotOfB();
      for (const [name, procedure] of procedures) {
        for (const probe of MATRIX[name]!(world, face)) {
          const res =
            face === 'REST'
              ? await restCall(name, probe.input, world.a.key, probe.headers)
              : await trpcCall(system.baseUrl, procedure._def.type as 'query' | 'mutation', name, probe.input, world.a.key, probe.headers);
          const label = `${face} ${name} ${JSON.stringify(probe.input)}`;
          if ('refusedWith' in probe) {
            expect(res.status, label).toBe(probe.refusedWith.status);
            const errorBody = face === 'REST' ? res.body : res.body.error.data;
            expect(errorBody.code, label).toBe(probe.refusedWith.code);
          } else if ('validatesAs' in probe) {
            expect(res.status, label).toBe(200);
            const data = face === 'REST' ? res.body : res.body.result.data;
            expect(data, label).toEqual({ valid: false, reason: probe.validatesAs, message: expect.any(String), ...NOTHING_OF_THE_CODE });
            const text = JSON.stringify(res.body);
            for (const marker of tenantBMarkers()) expect(text, label).not.toContain(marker);
          } else if ('answersWithPublicKeysOnly' in probe) {
            expect(res.status, label).toBe(200);
            const data = face === 'REST' ? res.body : res.body.result.data;
            const keys: Record<string, unknown>[] = data.keys;
            expect(keys.map((key) => key.kid), label).toEqual(expect.arrayContaining(probe.publicByDesign));
            for (const key of keys) {
              expect(Object.keys(key).sort(), label).toEqual(PUBLIC_JWK_FIELDS);
              expect(key, label).not.toHaveProperty('d');
            }
            const text = JSON.stringify(res.body);
            expect(text, label).not.toMatch(/"d"\s*:|PRIVATE KEY|private/i);
            for (const marker of tenantBMarkers().filter((m) => !probe.publicByDesign.includes(m))) expect(text, label).not.toContain(marker);
          } else {
            expect(res.status, label).toBe(200);
            const text = JSON.stringify(res.body);
            for (const marker of tenantBMarkers()) expect(text, label).not.toContain(marker);
          }
        }
      }
      // Nothing of B changed: same keys (none revoked, none added), same audit trail, same status.
      const after = await snapshotOfB();
      expect(after).toEqual(before);
      expect(after.tenant.status).toBe('active');
    });
  }

  it('refuses A the file routes of B: upload, reject report, export', async () => {
    const before = await snapshotOfB();
    const upload = await uploadCsv(system.baseUrl, world.a.key, world.bOfferId, 'PROBE-CODE-1\n');
    expect(upload.status).toBe(404);
    expect(upload.body.code).toBe('OFFER_NOT_FOUND');
    const report = await rejectReport(system.baseUrl, world.a.key, world.bBatchId);
    expect(report.status).toBe(404);
    expect(JSON.parse(report.text).code).toBe('BATCH_NOT_FOUND');
    const exported = await exportCodes(system.baseUrl, world.a.key, world.bOfferId);
    expect(exported.status).toBe(404);
    expect(exported.text).not.toContain(world.bCode);
    expect(await snapshotOfB()).toEqual(before);
  });

  it('refuses A the settlement file routes of B: exports, reconciliation upload, reconciliation report', async () => {
    const before = await snapshotOfB();
    // What B sees is there to protect: the finalized statement with B's reconciliation on it, the report, the run.
    expect(before.statement).toMatchObject({ id: world.bStatementId, status: 'finalized', contentHash: world.bStatementHash, totals: [{ amountMinor: 5_000 }] });
    expect(before.statement.reconciliation.issuer).toMatchObject({ reconciliationId: world.bReconciliationId, reconciled: true, matched: 1, currentForStatement: true });
    expect(before.counterpartyStatement.reconciliation).toEqual(before.statement.reconciliation);
    expect(before.reconciliationReport).toContain(world.bVoucher.id);
    expect(before.run).toMatchObject({ id: world.bRunId, status: 'succeeded' });
    const reconciliations = () => coalitionDb(system.services.db).selectFrom('settlement_reconciliations').select(['id', 'statement_id', 'tenant_id']).orderBy('id').execute();
    const rowsBefore = await reconciliations();
    const asA = async (path: string, init: RequestInit = {}) => {
      const response = await fetch(`${system.baseUrl}/api/v1/settlement${path}`, { ...init, headers: { authorization: `Bearer ${world.a.key}`, ...init.headers } });
      return { status: response.status, text: await response.text() };
    };
    const uploadAsA = (body: string, query = '') => asA(`/statements/${world.bStatementId}/reconciliations${query}`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body });
    const attempts: [string, { status: number; text: string }, string][] = [
      ['summary.csv', await asA(`/statements/${world.bStatementId}/summary.csv`), 'STATEMENT_NOT_FOUND'],
      ['entries.csv', await asA(`/statements/${world.bStatementId}/entries.csv`), 'STATEMENT_NOT_FOUND'],
      ['statement.html', await asA(`/statements/${world.bStatementId}/statement.html`), 'STATEMENT_NOT_FOUND'],
      ['upload', await uploadAsA('code,amount\nPROBE-CODE-1,10.00\n'), 'STATEMENT_NOT_FOUND'],
      ["upload of B's own ledger", await uploadAsA(`voucher_id,amount_minor\n${world.bVoucher.id},5000\n`, '?filename=B-SECRET-LEDGER-1.csv'), 'STATEMENT_NOT_FOUND'],
      ['report.csv', await asA(`/reconciliations/${world.bReconciliationId}/report.csv`), 'RECONCILIATION_NOT_FOUND'],
    ];
    // A refusal may name the id A itself sent; nothing else of B's.
    const secrets = tenantBMarkers().filter((marker) => marker !== world.bStatementId && marker !== world.bReconciliationId);
    for (const [label, res, code] of attempts) {
      expect(res.status, label).toBe(404);
      expect(JSON.parse(res.text).code, label).toBe(code);
      for (const secret of secrets) expect(res.text, label).not.toContain(secret);
    }
    expect(await reconciliations()).toEqual(rowsBefore);
    expect(await snapshotOfB()).toEqual(before);
  });

  it("A's reconciliation of its own statement names none of B's vouchers, even for a code of A's partner that went to B's customer", async () => {
    const before = await snapshotOfB();
    const built = await request(system.baseUrl, 'POST', '/api/v1/settlement/statements', { key: world.a.key, body: { agreementId: world.aAgreementId, period: world.thisMonth } });
    expect(built.status).toBe(200);
    const response = await fetch(`${system.baseUrl}/api/v1/settlement/statements/${built.body.id}/reconciliations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${world.a.key}`, 'content-type': 'text/csv' },
      body: `code,amount\n${world.bVoucherAtD.code},50.00\n`,
    });
    const reconciliation = (await response.json()) as { id: string; missingOurs: number };
    expect(response.status).toBe(201);
    // Not A's voucher: in A's file only, and that is all A learns.
    expect(reconciliation.missingOurs).toBe(1);
    const report = await fetch(`${system.baseUrl}/api/v1/settlement/reconciliations/${reconciliation.id}/report.csv`, { headers: { authorization: `Bearer ${world.a.key}` } });
    expect(report.status).toBe(200);
    const text = await report.text();
    expect(text.split('\r\n')[1]).toMatch(/^missing_ours,,,2,/);
    for (const marker of tenantBMarkers().filter((m) => m !== world.bVoucherAtD.code)) expect(text).not.toContain(marker);
    expect(await snapshotOfB()).toEqual(before);
  });

  it("A's settlement run builds A's statements only, and A's netting shows A's position only", async () => {
    const before = await snapshotOfB();
    const asA = (method: string, path: string, body?: unknown) => request(system.baseUrl, method, `/api/v1/settlement${path}`, { key: world.a.key, ...(body === undefined ? {} : { body }) });
    const started = await asA('POST', '/runs', { period: world.thisMonth });
    expect(started.status).toBe(200);
    // The runs the matrix queued for A run too; none of them may reach B.
    const workers = await startWorkerHost({ services: system.services, definitions: [settlementRunJob] });
    let run: any;
    try {
      const deadline = Date.now() + 20_000;
      do {
        await new Promise((resolve) => setTimeout(resolve, 100));
        run = (await asA('GET', `/runs/${started.body.id}`)).body;
      } while (run.status !== 'succeeded' && run.status !== 'failed' && Date.now() < deadline);
    } finally {
      await workers.close();
    }
    // A is a party to one agreement in force (with D): the run saw that one and no other.
    expect(run).toMatchObject({ status: 'succeeded', period: world.thisMonth, error: null });
    expect(run.statementsBuilt + run.statementsUnchanged).toBe(1);
    const aStatements = (await asA('GET', '/statements')).body.statements;
    expect(aStatements.map((statement: { agreementId: string; period: string }) => [statement.agreementId, statement.period])).toEqual([[world.aAgreementId, world.thisMonth]]);
    const bThisMonth = await coalitionDb(system.services.db)
      .selectFrom('settlement_statements')
      .select('id')
      .where('agreement_id', 'in', [world.bAgreementId, world.bPartnerAgreementId])
      .where('period', '=', `${world.thisMonth}-01`)
      .execute();
    expect(bThisMonth).toEqual([]);

    // Last month only B's statement exists: B has a position, A none and no transfer.
    const bNetting = (await request(system.baseUrl, 'GET', `/api/v1/settlement/netting?period=${world.lastMonth}`, { key: world.b.key })).body;
    expect(bNetting.positions).toEqual([{ tenant: world.b.tenant.slug, currency: 'RUB', owesMinor: 5_000, owedMinor: 0, netMinor: -5_000 }]);
    const aLastMonth = (await asA('GET', `/netting?period=${world.lastMonth}`)).body;
    expect(aLastMonth.positions).toEqual([]);
    expect(aLastMonth.transfers).toEqual([]);
    // This month: A's own position only.
    const aThisMonth = (await asA('GET', `/netting?period=${world.thisMonth}`)).body;
    expect(aThisMonth.positions.map((position: { tenant: string }) => position.tenant)).toEqual([world.a.tenant.slug]);
    for (const marker of tenantBMarkers()) expect(JSON.stringify(aThisMonth)).not.toContain(marker);

    expect(await snapshotOfB()).toEqual(before);
  });

  it("refuses A B's voucher over both faces and leaves the voucher, its code and its customer's stickers as they were", async () => {
    const bView = async () => ({
      voucher: (await request(system.baseUrl, 'GET', `/api/v1/vouchers/${world.bVoucher.id}`, { key: world.b.key })).body,
      vouchers: (await request(system.baseUrl, 'GET', `/api/v1/customers/${world.bExchangeCustomerId}/vouchers`, { key: world.b.key })).body,
      balance: (await request(system.baseUrl, 'GET', `/api/v1/customers/${world.bExchangeCustomerId}/balance`, { key: world.b.key })).body,
      pool: (await request(system.baseUrl, 'GET', `/api/v1/offers/${world.cOfferId}/pool`, { key: world.c.key })).body,
    });
    const before = await bView();
    expect(before.voucher).toMatchObject({ id: world.bVoucher.id, status: 'issued', code: world.bVoucher.code, token: world.bVoucher.token, cancellation: null });

    const byId = { voucherId: world.bVoucher.id };
    const attempts: [string, ApiResponse, string][] = [
      ['REST get', await request(system.baseUrl, 'GET', `/api/v1/vouchers/${world.bVoucher.id}`, { key: world.a.key }), 'VOUCHER_NOT_FOUND'],
      ['REST cancel', await request(system.baseUrl, 'POST', `/api/v1/vouchers/${world.bVoucher.id}/cancel`, { key: world.a.key, body: { reason: 'probe' } }), 'VOUCHER_NOT_FOUND'],
      ['REST list', await request(system.baseUrl, 'GET', `/api/v1/customers/${world.bExchangeCustomerId}/vouchers`, { key: world.a.key }), 'CUSTOMER_NOT_FOUND'],
      ['tRPC get', await trpcCall(system.baseUrl, 'query', 'vouchers.get', byId, world.a.key), 'VOUCHER_NOT_FOUND'],
      ['tRPC cancel', await trpcCall(system.baseUrl, 'mutation', 'vouchers.cancel', { ...byId, reason: 'probe' }, world.a.key), 'VOUCHER_NOT_FOUND'],
      ['tRPC list', await trpcCall(system.baseUrl, 'query', 'vouchers.listForCustomer', { customerId: world.bExchangeCustomerId }, world.a.key), 'CUSTOMER_NOT_FOUND'],
    ];
    for (const [label, res, code] of attempts) {
      expect(res.status, label).toBe(404);
      expect((label.startsWith('REST') ? res.body : res.body.error.data).code, label).toBe(code);
      const text = JSON.stringify(res.body);
      for (const secret of [world.bVoucher.code, world.bVoucher.token]) expect(text, label).not.toContain(secret);
    }

    const after = await bView();
    expect(after).toEqual(before);
    expect(after.voucher.status).toBe('issued');
    expect(after.voucher.token).toBe(world.bVoucher.token);
    expect(after.voucher.code).toBe(world.bVoucher.code);
    const audit = await request(system.baseUrl, 'GET', '/api/v1/audit-events?limit=500', { key: world.b.key });
    expect(audit.body.events.map((event: { action: string }) => event.action)).not.toContain('voucher.cancelled');
  });

  it("refuses A B's codes and redemptions over both faces and leaves B's redemption, codes and vouchers as they were", async () => {
    const db = system.services.db;
    const aId = (await coalitionDb(db).selectFrom('tenants').select('id').where('slug', '=', world.a.tenant.slug).executeTakeFirstOrThrow()).id;
    const bView = async () => ({
      redemption: (await request(system.baseUrl, 'GET', `/api/v1/redemptions/${world.bRedemptionId}`, { key: world.b.key })).body,
      list: (await request(system.baseUrl, 'GET', '/api/v1/redemptions', { key: world.b.key })).body,
      openCode: (await request(system.baseUrl, 'POST', '/api/v1/codes/validate', { key: world.b.key, body: { code: world.bOpenVoucher.code, orderAmountMinor: 400_000 } })).body,
      redeemedVoucher: (await request(system.baseUrl, 'GET', `/api/v1/vouchers/${world.bRedeemedVoucher.id}`, { key: world.e.key })).body,
      openVoucher: (await request(system.baseUrl, 'GET', `/api/v1/vouchers/${world.bOpenVoucher.id}`, { key: world.e.key })).body,
      settlement: await coalitionDb(db).selectFrom('settlement_entries').select(['id', 'event', 'amount_minor']).where('voucher_id', 'in', [world.bRedeemedVoucher.id, world.bOpenVoucher.id]).orderBy('id').execute(),
      eOutbox: await tenantDb(db, tenantSchemaName(world.e.tenant.slug)).selectFrom('outbox_events').select(['id', 'event_type']).orderBy('id').execute(),
    });
    const before = await bView();
    expect(before.redemption).toMatchObject({ id: world.bRedemptionId, status: 'redeemed', voucherId: world.bRedeemedVoucher.id, orderRef: world.bRedeemBody.orderRef, issuer: world.e.tenant.slug });
    expect(before.list.redemptions.map((r: { id: string }) => r.id)).toEqual([world.bRedemptionId]);
    expect(before.openCode).toMatchObject({ valid: true, voucherId: world.bOpenVoucher.id });
    expect(before.redeemedVoucher.status).toBe('redeemed');

    const order = { orderRef: 'A-ORDER-1', orderAmountMinor: 400_000, currency: 'RUB' };
    const rest = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
      request(system.baseUrl, method, `/api/v1${path}`, { key: world.a.key, headers, ...(body !== undefined && { body }) });
    const trpc = (type: 'query' | 'mutation', path: string, input: unknown, headers: Record<string, string> = {}) => trpcCall(system.baseUrl, type, path, input, world.a.key, headers);
    const probeKeys: string[] = [];
    const key = (name: string) => {
      probeKeys.push(`bola-${name}`);
      return { 'idempotency-key': `bola-${name}` };
    };
    const validations: [string, ApiResponse, string][] = [
      ['REST validate code', await rest('POST', '/codes/validate', { code: world.bOpenVoucher.code }), 'UNKNOWN_CODE'],
      ['REST validate redeemed code', await rest('POST', '/codes/validate', { code: world.bRedeemedVoucher.code.toLowerCase() }), 'UNKNOWN_CODE'],
      ['REST validate token', await rest('POST', '/codes/validate', { voucher: world.bOpenVoucher.token }), 'WRONG_PARTNER'],
      ['tRPC validate code', await trpc('mutation', 'redemptions.validate', { code: world.bOpenVoucher.code }), 'UNKNOWN_CODE'],
      ['tRPC validate QR', await trpc('mutation', 'redemptions.validate', { voucher: world.bOpenVoucher.qrText }), 'WRONG_PARTNER'],
    ];
    for (const [label, res, reason] of validations) {
      expect(res.status, label).toBe(200);
      expect(label.startsWith('REST') ? res.body : res.body.result.data, label).toEqual({ valid: false, reason, message: expect.any(String), ...NOTHING_OF_THE_CODE });
    }
    const refusals: [string, ApiResponse, number, string][] = [
      ['REST redeem code', await rest('POST', '/redemptions', { code: world.bOpenVoucher.code, ...order }, key('rest-code')), 404, 'UNKNOWN_CODE'],
      ['REST redeem token', await rest('POST', '/redemptions', { voucher: world.bOpenVoucher.token, ...order }, key('rest-token')), 422, 'WRONG_PARTNER'],
      ["REST redeem with B's key and body", await rest('POST', '/redemptions', world.bRedeemBody, { 'idempotency-key': world.bRedeemKey }), 404, 'UNKNOWN_CODE'],
      ['REST reverse', await rest('POST', `/redemptions/${world.bRedemptionId}/reverse`, { reason: 'probe' }), 404, 'REDEMPTION_NOT_FOUND'],
      ['REST get', await rest('GET', `/redemptions/${world.bRedemptionId}`), 404, 'REDEMPTION_NOT_FOUND'],
      ['tRPC redeem code', await trpc('mutation', 'redemptions.redeem', { code: world.bOpenVoucher.code.toLowerCase(), ...order }, key('trpc-code')), 404, 'UNKNOWN_CODE'],
      ['tRPC redeem QR', await trpc('mutation', 'redemptions.redeem', { voucher: world.bOpenVoucher.qrText, ...order }, key('trpc-qr')), 422, 'WRONG_PARTNER'],
      ['tRPC reverse', await trpc('mutation', 'redemptions.reverse', { redemptionId: world.bRedemptionId, reason: 'probe' }), 404, 'REDEMPTION_NOT_FOUND'],
      ['tRPC get', await trpc('query', 'redemptions.get', { redemptionId: world.bRedemptionId }), 404, 'REDEMPTION_NOT_FOUND'],
    ];
    for (const [label, res, status, code] of refusals) {
      expect(res.status, label).toBe(status);
      expect((label.startsWith('REST') ? res.body : res.body.error.data).code, label).toBe(code);
    }
    const lists: [string, ApiResponse][] = [
      ['REST list', await rest('GET', '/redemptions?limit=200')],
      ['REST list by code', await rest('GET', `/redemptions?code=${encodeURIComponent(world.bRedeemedVoucher.code)}`)],
      ['REST list by order', await rest('GET', `/redemptions?orderRef=${encodeURIComponent(world.bRedeemBody.orderRef)}`)],
      ['tRPC list', await trpc('query', 'redemptions.list', { status: 'redeemed' })],
      ['tRPC list by code', await trpc('query', 'redemptions.list', { code: world.bRedeemedVoucher.code })],
    ];
    for (const [label, res] of lists) {
      expect(res.status, label).toBe(200);
      expect(label.startsWith('REST') ? res.body : res.body.result.data, label).toEqual({ redemptions: [], nextCursor: null });
    }
    // Nothing of B's in any answer (a refusal may name the redemption id A itself sent).
    const secrets = tenantBMarkers().filter((marker) => marker !== world.bRedemptionId);
    for (const [label, res] of [...validations, ...refusals, ...lists]) {
      const text = JSON.stringify(res.body);
      for (const secret of secrets) expect(text, label).not.toContain(secret);
    }

    expect(await bView()).toEqual(before);
    // A kept no Idempotency-Key (every attempt was refused) and has no redemption.
    const aKeys = await tenantDb(db, tenantSchemaName(world.a.tenant.slug)).selectFrom('idempotency_keys').select('key').where('key', 'in', [...probeKeys, world.bRedeemKey]).execute();
    expect(aKeys).toEqual([]);
    expect(await coalitionDb(db).selectFrom('redemptions').select('id').where('partner_tenant_id', '=', aId).execute()).toEqual([]);
    // B's own retry still replays B's answer.
    const replay = await request(system.baseUrl, 'POST', '/api/v1/redemptions', { key: world.b.key, body: world.bRedeemBody, headers: { 'idempotency-key': world.bRedeemKey } });
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body).toEqual(before.redemption);
  });

  it('a key tenant A creates belongs to A', async () => {
    const created = await request(system.baseUrl, 'POST', '/api/v1/api-keys', { key: world.a.key, body: { name: 'probe', scopes: ['pos:write'] } });
    const whoami = await request(system.baseUrl, 'GET', '/api/v1/me', { key: created.body.secret });
    expect(whoami.body.tenant.slug).toBe(world.a.tenant.slug);
  });

  it('holds over tRPC batches that mix own and foreign objects', async () => {
    const paths = 'me,apiKeys.get,apiKeys.get,operator.tenants.get';
    const input = { 0: undefined, 1: { keyId: world.a.keyId }, 2: { keyId: world.b.keyId }, 3: { slug: world.b.tenant.slug } };
    const res = await request(system.baseUrl, 'GET', `/trpc/${paths}?batch=1&input=${encodeURIComponent(JSON.stringify(input))}`, { key: world.a.key });
    expect(res.status).toBe(207);
    expect(res.body[0].result.data.tenant.slug).toBe(world.a.tenant.slug);
    expect(res.body[1].result.data.id).toBe(world.a.keyId);
    expect(res.body[2].error.data.code).toBe('API_KEY_NOT_FOUND');
    expect(res.body[3].error.data.code).toBe('FORBIDDEN');
  });

  it('each tenant schema holds only its own audit trail', async () => {
    const a = await request(system.baseUrl, 'GET', '/api/v1/audit-events', { key: world.a.key });
    const b = await request(system.baseUrl, 'GET', '/api/v1/audit-events', { key: world.b.key });
    expect(a.body.events.map((e: { subjectId: string }) => e.subjectId)).toContain(world.a.tenant.slug);
    expect(JSON.stringify(a.body)).not.toContain(world.b.tenant.slug);
    expect(b.body.events.map((e: { subjectId: string }) => e.subjectId)).toContain(world.b.keyId);
    expect(JSON.stringify(b.body)).not.toContain(world.a.keyId);
  });
});
