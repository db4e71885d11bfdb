import { randomBytes, randomInt } from 'node:crypto';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { periodLabel } from '../settlement/statement.ts';
import { monthOf } from '../system/calendar.ts';
import { formatMinor } from '../system/money.ts';
import { DemoApi, DemoApiError } from './api.ts';
import { DemoReceiver, type ReceivedWebhook } from './receiver.ts';

/**
 * The main job of Coalition Exchange, end to end, through the public HTTP API: a
 * grocery discounter (issuer) with a sticker campaign, an electronics shop (partner)
 * with an offer and an uploaded code pool, an agreement between them, customers buying
 * at the grocer's tills, one customer exchanging stickers for a signed voucher, the
 * shop redeeming its code, the `voucher.redeemed` webhook arriving at a receiver this
 * demo runs, and the month's settlement statement.
 *
 * Only the operator key is needed: it creates the two tenants and their keys (the
 * operator API); everything after that uses the tenants' own keys, each with the
 * narrowest scope its system would get.
 *
 * Re-running: every run creates a fresh pair of tenants. The first run takes
 * `demo-grocer` and `demo-volt`; later runs take the first free `demo-grocer-N` and
 * `demo-volt-N`. Reusing the first pair would not work as well: keys are shown only
 * at creation (a rerun would have to mint new ones anyway), the code pool, agreement
 * and campaign would have to be found and checked for every state a previous,
 * possibly interrupted, run left them in, and the story would no longer start from
 * scratch. Fresh tenants make every run independent and the same.
 */

export const DEMO_TIMEZONE = 'Europe/Moscow';
export const DEMO_CURRENCY = 'RUB';

export interface DemoOptions {
  /** The API's base URL, e.g. http://127.0.0.1:3000 (no trailing /api). */
  baseUrl: string;
  /** An operator key (cx_op_…): creates the demo tenants and their keys. */
  operatorKey: string;
  /** How long to wait for the code import and the webhook (each). Default 60 s and 30 s. */
  importTimeoutMs?: number;
  webhookTimeoutMs?: number;
  /** Called as each step completes, for live output. */
  onStep?: (step: DemoStep) => void;
  /** Every request the demo receiver gets, raw (for tests that verify it independently). */
  onWebhook?: (webhook: ReceivedWebhook) => void;
}

export interface DemoStep {
  number: number;
  title: string;
  /** What happened, one line each, for people. */
  lines: string[];
}

export interface DemoKey {
  name: string;
  scopes: string[];
  /** The secret, shown once: demo keys, printed on purpose. */
  secret: string;
}

export interface DemoTenant {
  slug: string;
  displayName: string;
  roles: string[];
  keys: DemoKey[];
}

export type WebhookOutcome =
  | { status: 'received'; endpointId: string; url: string; secret: string; id: string; type: string; verified: boolean; sequence: number | null; redemptionId: string | null; receivedAt: string }
  | { status: 'skipped'; endpointId: null; url: string; reason: string }
  | { status: 'timed_out'; endpointId: string; url: string; secret: string; reason: string };

export interface DemoResult {
  ok: boolean;
  run: number;
  startedAt: string;
  finishedAt: string;
  urls: { api: string; trpc: string; openapi: string; apiReference: string; health: string; jwks: string };
  issuer: DemoTenant;
  partner: DemoTenant;
  campaign: { id: string; name: string; rule: string; holdDays: number };
  offer: { id: string; title: string; status: string };
  pool: { batchId: string; status: string; accepted: number; rejected: number };
  agreement: { id: string; name: string; status: string; model: Record<string, unknown>; proposedBy: string; acceptedBy: string | null; timezone: string };
  reward: { id: string; title: string; stickerCost: number };
  customers: Array<{ id: string; cardNumber: string; receipts: number; stickersCredited: number; available: number }>;
  voucher: { id: string; customerId: string; codeMask: string; stickersSpent: number; stickersLeft: number; expiresAt: string; signature: { verified: boolean; kid: string | null; algorithm: string | null } };
  validation: { valid: boolean; reason: string | null; discountMinor: number | null };
  redemption: { id: string; orderRef: string; orderAmountMinor: number; discountMinor: number; redeemedAt: string; reversibleUntil: string | null };
  webhook: WebhookOutcome;
  statement: {
    id: string;
    period: string;
    status: string;
    preview: boolean;
    entryCount: number;
    lines: Array<{ section: string; event: string; currency: string; count: number; amountMinor: number }>;
    totals: Array<{ currency: string; netMinor: number; owedBy: string | null; owedTo: string | null; amountMinor: number }>;
  };
  /** Portal users of both demo tenants, one per role, all with the printed demo password. */
  portal: { url: string; password: string; logins: Array<{ email: string; tenant: string; roles: string[] }> };
  /** The case the anti-fraud step opened: a cashier's own card, its stickers held. */
  fraudCase: { id: string; ruleId: string; heldStickers: number; cardNumber: string } | null;
  steps: DemoStep[];
}

const DAY_MS = 24 * 60 * 60 * 1000;
const STICKER_STEP_MINOR = 50_000; // 1 sticker per full 500 RUB
const STICKER_COST = 10;
const CODE_COUNT = 25;
const ORDER_AMOUNT_MINOR = 459_000;
const FEE_PER_REDEMPTION_MINOR = 5_000;

/** Money in minor units, as people read it: 4,590.00 RUB. */
export function money(minor: number, currency = DEMO_CURRENCY): string {
  return formatMinor(minor, currency);
}

/** The calendar month (YYYY-MM) of an instant in a time zone: the settlement period it falls in. */
export function periodOf(instant: Date, timeZone: string): string {
  return periodLabel(monthOf(instant, timeZone));
}

const CODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
function demoCode(): string {
  const pick = (n: number) => Array.from({ length: n }, () => CODE_ALPHABET[randomInt(CODE_ALPHABET.length)]).join('');
  return `VOLT-${pick(4)}-${pick(4)}`;
}

/** Receipt lines that add up to the total exactly. */
function receiptLines(totalMinor: number): Array<{ sku: string; quantity: number; amountMinor: number }> {
  const milk = 17_980;
  const coffee = 64_990;
  return [
    { sku: '4600000000017', quantity: 2, amountMinor: milk },
    { sku: '4607001234567', quantity: 1, amountMinor: coffee },
    { sku: '4601234000055', quantity: 1, amountMinor: totalMinor - milk - coffee },
  ];
}

/** Receipts per demo customer: the first one collects enough stickers for the reward. */
const SHOPPERS: Array<{ cardSuffix: string; receipts: number[] }> = [
  { cardSuffix: '0001', receipts: [284_750, 319_990] }, // 5 + 6 stickers
  { cardSuffix: '0002', receipts: [152_000] }, // 3
  { cardSuffix: '0003', receipts: [412_340, 98_500] }, // 8 + 1
];

async function tenantExists(api: DemoApi, operatorKey: string, slug: string): Promise<boolean> {
  try {
    await api.call('GET', `/v1/operator/tenants/${slug}`, { key: operatorKey });
    return true;
  } catch (error) {
    if (error instanceof DemoApiError && error.status === 404) return false;
    throw error;
  }
}

/** The first run number whose two slugs are both free. */
async function freeRun(api: DemoApi, operatorKey: string, from: number): Promise<number> {
  for (let run = from; run < from + 1_000; run += 1) {
    const { issuer, partner } = slugsFor(run);
    if (!(await tenantExists(api, operatorKey, issuer)) && !(await tenantExists(api, operatorKey, partner))) return run;
  }
  throw new Error('no free demo tenant slug found after 1,000 tries: suspend or rename older demo tenants');
}

function slugsFor(run: number) {
  const suffix = run === 1 ? '' : `-${run}`;
  return {
    issuer: `demo-grocer${suffix}`,
    partner: `demo-volt${suffix}`,
    issuerName: run === 1 ? 'Demo Grocer' : `Demo Grocer ${run}`,
    partnerName: run === 1 ? 'Demo Volt Electronics' : `Demo Volt Electronics ${run}`,
  };
}

function isTaken(error: unknown): boolean {
  return error instanceof DemoApiError && error.code === 'TENANT_SLUG_TAKEN';
}

export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const api = new DemoApi(baseUrl);
  const op = options.operatorKey;
  const startedAt = new Date();
  const steps: DemoStep[] = [];
  const step = (title: string, lines: string[]) => {
    const done = { number: steps.length + 1, title, lines };
    steps.push(done);
    options.onStep?.(done);
  };

  // 0. The system answers and the operator key works.
  try {
    await api.getPublic('/readyz');
  } catch (error) {
    throw new Error(`Coalition Exchange at ${baseUrl} is not ready (${error instanceof Error ? error.message : String(error)}). Start it with "npm start", or pass --url.`, { cause: error });
  }
  const me = await api.call<{ kind: string }>('GET', '/v1/me', { key: op }).catch((error: unknown) => {
    if (error instanceof DemoApiError && error.status === 401) throw new Error(`The operator key was refused by ${baseUrl} (revoked, or from another start: each "npm start" revokes the previous start's key).`);
    throw error;
  });
  if (me.kind !== 'operator') throw new Error('The key given as operator key is a tenant key: pass an operator key (cx_op_…).');

  // 1. Tenants and keys (the operator API).
  let run = await freeRun(api, op, 1);
  let names = slugsFor(run);
  const createTenant = (slug: string, displayName: string, roles: string[]) =>
    api.call('POST', '/v1/operator/tenants', { key: op, body: { slug, displayName, roles, timezone: DEMO_TIMEZONE, currency: DEMO_CURRENCY } });
  for (;;) {
    try {
      await createTenant(names.issuer, names.issuerName, ['issuer']);
      await createTenant(names.partner, names.partnerName, ['partner']);
      break;
    } catch (error) {
      // Another demo run took the slug between the check and the create: take the next pair.
      if (!isTaken(error)) throw error;
      run = await freeRun(api, op, run + 1);
      names = slugsFor(run);
    }
  }
  const createKey = async (slug: string, name: string, scopes: string[]): Promise<DemoKey> => {
    const created = await api.call<{ secret: string }>('POST', `/v1/operator/tenants/${slug}/api-keys`, { key: op, body: { name, scopes } });
    return { name, scopes, secret: created.secret };
  };
  const issuerKeys = {
    admin: await createKey(names.issuer, 'Demo: back office (admin)', ['admin']),
    pos: await createKey(names.issuer, 'Demo: tills', ['pos:write']),
    app: await createKey(names.issuer, 'Demo: customer app back end', ['customers:read', 'exchange:write']),
  };
  const partnerKeys = {
    admin: await createKey(names.partner, 'Demo: back office (admin)', ['admin']),
    checkout: await createKey(names.partner, 'Demo: web shop checkout', ['codes:redeem']),
  };
  // Portal users, one per role, invited by the operator and accepted with a demo password.
  const portalPassword = `demo-${randomBytes(9).toString('base64url')}`;
  const logins: DemoResult['portal']['logins'] = [];
  for (const [slug, roleSets] of [
    [names.issuer, [['admin'], ['marketer'], ['finance'], ['fraud_reviewer']]],
    [names.partner, [['admin'], ['pool_manager'], ['finance']]],
  ] as const) {
    for (const roles of roleSets) {
      const email = `${roles[0]!.replace('_', '-')}@${slug}.example`;
      const invited = await api.call<{ token: string }>('POST', '/v1/operator/users/invitations', { key: op, body: { tenantSlug: slug, email, roles } });
      await api.postSession('/auth/invitations/accept', { token: invited.token, displayName: `Demo ${roles[0]!.replace('_', ' ')}`, password: portalPassword });
      logins.push({ email, tenant: slug, roles: [...roles] });
    }
  }
  const issuer: DemoTenant = { slug: names.issuer, displayName: names.issuerName, roles: ['issuer'], keys: Object.values(issuerKeys) };
  const partner: DemoTenant = { slug: names.partner, displayName: names.partnerName, roles: ['partner'], keys: Object.values(partnerKeys) };
  step('Tenants', [
    `Issuer  ${issuer.displayName} (${issuer.slug}), ${DEMO_TIMEZONE}, ${DEMO_CURRENCY}, with keys for its back office, tills and customer app`,
    `Partner ${partner.displayName} (${partner.slug}), with keys for its back office and web shop checkout`,
    `Portal users for both, one per role (admin, marketer / pool manager, finance)`,
    ...(run > 1 ? [`(demo-grocer was taken by an earlier run: this run is number ${run} and starts from scratch)`] : []),
  ]);

  // 2. The issuer's sticker campaign: 1 sticker per full 500 RUB, no hold, so stickers are spendable at once.
  const now = Date.now();
  const campaign = await api.call<{ id: string; name: string }>('POST', '/v1/campaigns', {
    key: issuerKeys.admin.secret,
    body: {
      name: 'Demo stickers',
      description: 'Collect stickers at Demo Grocer, swap them for partner rewards.',
      terms: `1 sticker for every full ${money(STICKER_STEP_MINOR)} on one receipt, available at once.`,
      // Starts just before the demo's receipts (a start may be at most 5 minutes back).
      startsAt: new Date(now - 2 * 60_000).toISOString(),
      endsAt: new Date(now + 90 * DAY_MS).toISOString(),
      burnAt: new Date(now + 120 * DAY_MS).toISOString(),
      milestones: [{ stickers: STICKER_COST, label: '500 RUB off at Demo Volt Electronics' }],
      // holdDays 0: no returns window, so the demo's stickers are available right away
      // (the default, 14 days, keeps them pending for two weeks).
      rules: { perAmountMinor: STICKER_STEP_MINOR, stickersPerStep: 1, holdDays: 0 },
    },
  });
  step('Sticker campaign', [`${campaign.name} (${campaign.id}): 1 sticker per ${money(STICKER_STEP_MINOR)}, hold 0 days (stickers available at once; real campaigns hold them for the returns window)`]);

  // 3. The partner's offer and its code pool, uploaded as a CSV file and imported in the background.
  const offer = await api.call<{ id: string; title: string; status: string }>('POST', '/v1/offers', {
    key: partnerKeys.admin.secret,
    body: {
      title: '500 RUB off orders over 3,000 RUB',
      description: 'Electronics and accessories at Demo Volt Electronics.',
      value: { type: 'fixed', amountMinor: 50_000 },
      minOrderMinor: 300_000,
      status: 'active',
      lowStockThreshold: 5,
    },
  });
  const codes = new Set<string>();
  while (codes.size < CODE_COUNT) codes.add(demoCode());
  const uploaded = await api.call<{ id: string }>('POST', `/v1/offers/${offer.id}/code-batches/upload`, {
    key: partnerKeys.admin.secret,
    raw: { contentType: 'text/csv', data: `code\n${[...codes].join('\n')}\n` },
    query: { name: 'Demo codes', filename: 'demo-codes.csv' },
    idempotencyKey: `demo-upload-${randomBytes(8).toString('hex')}`,
  });
  const batch = await waitForBatch(api, partnerKeys.admin.secret, uploaded.id, options.importTimeoutMs ?? 60_000);
  step('Partner offer and code pool', [
    `Offer "${offer.title}" (${offer.id}), ${offer.status}`,
    `Uploaded demo-codes.csv (${CODE_COUNT} codes) as batch ${batch.id}: ${batch.status}, ${batch.progress.accepted} accepted, ${batch.progress.rejected} rejected`,
  ]);

  // 4. The agreement: proposed by the partner, accepted by the issuer. Then the reward in the issuer's catalog.
  const model = { type: 'partner_pays_per_redeemed', amountMinor: FEE_PER_REDEMPTION_MINOR };
  const proposed = await api.call<{ id: string }>('POST', '/v1/agreements', {
    key: partnerKeys.admin.secret,
    body: { name: 'Demo: electronics vouchers for stickers', issuer: issuer.slug, offerIds: [offer.id], model, currency: DEMO_CURRENCY },
  });
  const agreement = await api.call<{ id: string; name: string; status: string; timezone: string; proposed: { side: string }; accepted: { side: string } | null; inForce: boolean }>(
    'POST',
    `/v1/agreements/${proposed.id}/accept`,
    { key: issuerKeys.admin.secret },
  );
  const reward = await api.call<{ id: string; title: string; stickerCost: number }>('POST', '/v1/rewards', {
    key: issuerKeys.admin.secret,
    body: {
      title: '500 ₽ off at Demo Volt Electronics',
      description: 'On orders from 3,000 ₽.',
      agreementId: agreement.id,
      offerId: offer.id,
      campaignId: campaign.id,
      stickerCost: STICKER_COST,
      voucherValidDays: 60,
    },
  });
  step('Agreement and reward', [
    `Agreement "${agreement.name}" (${agreement.id}): proposed by the partner, accepted by the issuer, ${agreement.status}${agreement.inForce ? ', in force' : ''}`,
    `Terms: the partner pays the issuer ${money(FEE_PER_REDEMPTION_MINOR)} per redeemed code (new-customer traffic); settled monthly in ${agreement.timezone}`,
    `Reward "${reward.title}" (${reward.id}) in the issuer's catalog for ${reward.stickerCost} stickers`,
  ]);

  // 5. Customers buy at the issuer's tills (the POS API, with an Idempotency-Key per receipt).
  const runTag = randomBytes(3).toString('hex').toUpperCase();
  const occurredAt = new Date(now - 60_000).toISOString();
  const customers: DemoResult['customers'] = [];
  let receiptNumber = 0;
  for (const shopper of SHOPPERS) {
    const cardNumber = `2900-${runTag}-${shopper.cardSuffix}`;
    let last: { customerId: string; stickersCredited: number; balance: { available: number; pending: number } } | undefined;
    let credited = 0;
    for (const totalMinor of shopper.receipts) {
      receiptNumber += 1;
      const receiptId = `DEMO-${runTag}-${String(receiptNumber).padStart(4, '0')}`;
      last = await api.call('POST', '/v1/pos/purchases', {
        key: issuerKeys.pos.secret,
        idempotencyKey: `demo-${receiptId}`,
        body: { storeCode: 'DEMO-01', terminalId: 'till-1', receiptId, occurredAt, customer: { cardNumber }, totalMinor, currency: DEMO_CURRENCY, lines: receiptLines(totalMinor) },
      });
      credited += last!.stickersCredited;
    }
    customers.push({ id: last!.customerId, cardNumber, receipts: shopper.receipts.length, stickersCredited: credited, available: last!.balance.available });
  }
  step(
    'Purchases at the tills',
    customers.map((c) => `Card ${c.cardNumber} (${c.id}): ${c.receipts} receipt(s), ${c.stickersCredited} stickers, ${c.available} available`),
  );

  // 6. The first customer exchanges stickers for the reward (the customer app back end).
  const buyer = customers[0]!;
  const catalog = await api.call<{ rewards: Array<{ id: string; customer: { canExchange: boolean } | null }> }>('GET', '/v1/catalog', {
    key: issuerKeys.app.secret,
    query: { customerId: buyer.id },
  });
  const listed = catalog.rewards.find((r) => r.id === reward.id);
  const voucher = await api.call<{ id: string; code: string; codeMask: string; token: string; stickers: number; stickersLeft: number; expiresAt: string }>('POST', '/v1/exchanges', {
    key: issuerKeys.app.secret,
    idempotencyKey: `demo-exchange-${runTag}`,
    body: { customer: { customerId: buyer.id }, rewardId: reward.id },
  });
  const signature = await verifyVoucherOffline(api, voucher.token, issuer.slug, partner.slug, voucher.id);
  step('Exchange', [
    `The catalog shows the reward to card ${buyer.cardNumber} as ${listed?.customer?.canExchange ? 'exchangeable' : 'not exchangeable'}`,
    `Voucher ${voucher.id}: ${voucher.stickers} stickers spent, ${voucher.stickersLeft} left; code ${voucher.codeMask}, valid until ${voucher.expiresAt}`,
    `Signed voucher (EdDSA JWS) checked offline against ${baseUrl}/api/v1/issuers/${issuer.slug}/jwks: ${signature.verified ? `valid, key ${signature.kid}` : 'NOT valid'}`,
  ]);

  // 7. The issuer registers a webhook endpoint at the demo receiver; the shop validates and redeems the code.
  const receiver = await DemoReceiver.start({ onWebhook: options.onWebhook });
  // Disabled however the demo ends: nothing retries against the receiver's closed port.
  let registered: string | null = null;
  try {
    let endpoint: { id: string; secret: string } | null = null;
    let skipReason: string | null = null;
    try {
      endpoint = await api.call('POST', '/v1/webhooks/endpoints', {
        key: issuerKeys.admin.secret,
        body: { url: receiver.url, description: 'coalition demo receiver', eventTypes: ['voucher.redeemed'] },
      });
      registered = endpoint!.id;
      receiver.setSecret(endpoint!.secret);
    } catch (error) {
      if (!(error instanceof DemoApiError && error.code === 'VALIDATION_FAILED' && JSON.stringify(error.body).includes('WEBHOOK_ALLOW_LOOPBACK'))) throw error;
      // The server's SSRF guard refuses this machine's addresses (the default): the
      // demo does not get around it, it says how to allow them for development.
      skipReason = `the server refuses webhook URLs on this machine (its SSRF guard, the safe default). To see this step, run the server with WEBHOOK_ALLOW_LOOPBACK=true (development only)`;
    }
    step(
      'Webhook endpoint',
      endpoint
        ? [`The issuer registered ${endpoint.id} for voucher.redeemed at the demo receiver ${receiver.url} (signing secret ${endpoint.secret})`]
        : [`Skipped: ${skipReason}`],
    );

    const validation = await api.call<{ valid: boolean; reason: string | null; discountMinor: number | null; codeMask: string }>('POST', '/v1/codes/validate', {
      key: partnerKeys.checkout.secret,
      body: { voucher: voucher.token, orderAmountMinor: ORDER_AMOUNT_MINOR, currency: DEMO_CURRENCY },
    });
    const orderRef = `DEMO-ORDER-${runTag}`;
    const redemption = await api.call<{ id: string; orderRef: string; orderAmountMinor: number; discountMinor: number; redeemedAt: string; reversibleUntil: string | null }>(
      'POST',
      '/v1/redemptions',
      {
        key: partnerKeys.checkout.secret,
        idempotencyKey: `order-${orderRef}`,
        body: { code: voucher.code, orderRef, orderAmountMinor: ORDER_AMOUNT_MINOR, currency: DEMO_CURRENCY },
      },
    );
    step('Redemption at the shop', [
      `Checkout scanned the signed voucher: ${validation.valid ? `valid, ${money(validation.discountMinor ?? 0)} off an order of ${money(ORDER_AMOUNT_MINOR)}` : `refused (${validation.reason})`}`,
      `Redeemed the code for order ${redemption.orderRef}: redemption ${redemption.id}, ${money(redemption.discountMinor)} off, at ${redemption.redeemedAt}`,
    ]);

    // 8. The webhook arrives at the demo receiver, signed with the endpoint's secret.
    let webhook: WebhookOutcome;
    if (!endpoint) {
      webhook = { status: 'skipped', endpointId: null, url: receiver.url, reason: skipReason! };
      step('Webhook delivery', ['Skipped: no endpoint (see step 7)']);
    } else {
      const timeoutMs = options.webhookTimeoutMs ?? 30_000;
      const arrived = await receiver.waitFor((w) => w.type === 'voucher.redeemed' && w.event?.data.redemptionId === redemption.id, timeoutMs);
      if (arrived) {
        webhook = {
          status: 'received',
          endpointId: endpoint.id,
          url: receiver.url,
          secret: endpoint.secret,
          id: arrived.id!,
          type: arrived.type!,
          verified: arrived.verified,
          sequence: typeof arrived.event?.sequence === 'number' ? arrived.event.sequence : null,
          redemptionId: typeof arrived.event?.data.redemptionId === 'string' ? arrived.event.data.redemptionId : null,
          receivedAt: arrived.receivedAt,
        };
        step('Webhook delivery', [
          `The demo receiver got ${webhook.type} ${webhook.id} (sequence ${webhook.sequence}) for redemption ${webhook.redemptionId}`,
          `Signature (Standard Webhooks, HMAC-SHA256 with the endpoint secret): ${webhook.verified ? 'verified' : 'NOT verified'}`,
        ]);
      } else {
        const reason = await whyNotDelivered(api, issuerKeys.admin.secret, endpoint.id, timeoutMs, receiver.url);
        webhook = { status: 'timed_out', endpointId: endpoint.id, url: receiver.url, secret: endpoint.secret, reason };
        step('Webhook delivery', [`Not received: ${reason}`]);
      }
    }

    // 9. The month's settlement statement: a preview draft, since the month is still open.
    const period = periodOf(new Date(redemption.redeemedAt), agreement.timezone);
    const statement = await api.call<{
      id: string;
      period: string;
      status: string;
      entryCount: number;
      lines: Array<{ section: string; event: string; currency: string; count: number; amountMinor: number }>;
      totals: Array<{ currency: string; netMinor: number; owedBy: string | null; owedTo: string | null; amountMinor: number }>;
    }>('POST', '/v1/settlement/statements', { key: issuerKeys.admin.secret, body: { agreementId: agreement.id, period } });
    const preview = period === periodOf(new Date(), agreement.timezone);
    step('Settlement statement', [
      `Statement ${statement.id} for ${statement.period} (${agreement.timezone}): ${statement.status}${preview ? ', a preview: the month is still open' : ''}, ${statement.entryCount} entr${statement.entryCount === 1 ? 'y' : 'ies'}`,
      ...statement.lines.map((line) => `  ${line.section} line: ${line.count} × ${line.event}, ${money(line.amountMinor, line.currency)}`),
      ...statement.totals.map((total) => (total.owedBy ? `  Total: ${total.owedBy} owes ${total.owedTo} ${money(total.amountMinor, total.currency)}` : `  Total: nothing owed in ${total.currency}`)),
    ]);

    // 10. Anti-fraud: a cashier scans their own card for customers who have none. The
    // default rule holds the stickers of the 5th receipt in a shift for a reviewer.
    const cashierCard = `2900-${runTag}-7777`;
    let held: { purchaseId: string; review: { caseId: string; action: string; held: boolean } | null; stickersCredited: number } | undefined;
    for (let i = 1; i <= 5; i += 1) {
      receiptNumber += 1;
      const receiptId = `DEMO-${runTag}-${String(receiptNumber).padStart(4, '0')}`;
      held = await api.call('POST', '/v1/pos/purchases', {
        key: issuerKeys.pos.secret,
        idempotencyKey: `demo-${receiptId}`,
        body: { storeCode: 'DEMO-01', terminalId: 'till-2', cashierId: 'CASHIER-7', receiptId, occurredAt, customer: { cardNumber: cashierCard }, totalMinor: 120_000, currency: DEMO_CURRENCY, lines: receiptLines(120_000) },
      });
    }
    const fraudCase = held?.review ? await api.call<{ id: string; ruleId: string; summary: string; heldStickers: number }>('GET', `/v1/fraud/cases/${held.review.caseId}`, { key: issuerKeys.admin.secret }) : null;
    const reviewer = logins.find((login) => login.roles.includes('fraud_reviewer'));
    step(
      'Anti-fraud',
      fraudCase
        ? [
            `Card ${cashierCard}: 5 receipts by cashier CASHIER-7 within minutes; the 5th receipt's ${held!.stickersCredited} sticker(s) are held for review`,
            `Case ${fraudCase.id} (${fraudCase.ruleId}): ${fraudCase.summary}`,
            `Review it in the portal as ${reviewer?.email ?? 'a fraud reviewer'} (Fraud review), or with POST /api/v1/fraud/cases/${fraudCase.id}/decision`,
          ]
        : ['No case: the issuer turned the cashier rule off'],
    );

    const result: DemoResult = {
      ok: signature.verified && validation.valid && webhook.status !== 'timed_out' && (webhook.status !== 'received' || webhook.verified),
      run,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      urls: {
        api: `${baseUrl}/api`,
        trpc: `${baseUrl}/trpc`,
        openapi: `${baseUrl}/api/openapi.json`,
        apiReference: `${baseUrl}/docs/api`,
        health: `${baseUrl}/readyz`,
        jwks: `${baseUrl}/api/v1/issuers/${issuer.slug}/jwks`,
      },
      issuer,
      partner,
      campaign: { id: campaign.id, name: campaign.name, rule: `1 sticker per ${money(STICKER_STEP_MINOR)}`, holdDays: 0 },
      offer: { id: offer.id, title: offer.title, status: offer.status },
      pool: { batchId: batch.id, status: batch.status, accepted: batch.progress.accepted, rejected: batch.progress.rejected },
      agreement: { id: agreement.id, name: agreement.name, status: agreement.status, model, proposedBy: agreement.proposed.side, acceptedBy: agreement.accepted?.side ?? null, timezone: agreement.timezone },
      reward: { id: reward.id, title: reward.title, stickerCost: reward.stickerCost },
      customers,
      voucher: { id: voucher.id, customerId: buyer.id, codeMask: voucher.codeMask, stickersSpent: voucher.stickers, stickersLeft: voucher.stickersLeft, expiresAt: voucher.expiresAt, signature },
      validation: { valid: validation.valid, reason: validation.reason, discountMinor: validation.discountMinor },
      redemption: {
        id: redemption.id,
        orderRef: redemption.orderRef,
        orderAmountMinor: redemption.orderAmountMinor,
        discountMinor: redemption.discountMinor,
        redeemedAt: redemption.redeemedAt,
        reversibleUntil: redemption.reversibleUntil,
      },
      webhook,
      statement: {
        id: statement.id,
        period: statement.period,
        status: statement.status,
        preview,
        entryCount: statement.entryCount,
        lines: statement.lines.map(({ section, event, currency, count, amountMinor }) => ({ section, event, currency, count, amountMinor })),
        totals: statement.totals.map(({ currency, netMinor, owedBy, owedTo, amountMinor }) => ({ currency, netMinor, owedBy, owedTo, amountMinor })),
      },
      portal: { url: `${baseUrl}/portal`, password: portalPassword, logins },
      fraudCase: fraudCase ? { id: fraudCase.id, ruleId: fraudCase.ruleId, heldStickers: fraudCase.heldStickers, cardNumber: cashierCard } : null,
      steps,
    };
    return result;
  } finally {
    if (registered) await api.call('POST', `/v1/webhooks/endpoints/${registered}/disable`, { key: issuerKeys.admin.secret }).catch(() => undefined);
    await receiver.close();
  }
}

async function waitForBatch(api: DemoApi, key: string, batchId: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const batch = await api.call<{ id: string; status: string; progress: { accepted: number; rejected: number }; failure: unknown }>('GET', `/v1/code-batches/${batchId}`, { key });
    if (batch.status === 'ready') return batch;
    if (batch.status === 'failed' || batch.status === 'voided') throw new Error(`the code upload ${batchId} ended ${batch.status}: ${JSON.stringify(batch.failure)}`);
    if (Date.now() > deadline) {
      throw new Error(`the code upload ${batchId} is still ${batch.status} after ${Math.round(timeoutMs / 1000)} s: is a worker running ("coalition start" runs one; with "coalition serve", run "coalition worker" too)?`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Verifies the voucher as a partner would offline: the issuer's public JWKS, EdDSA only, audience = the partner. */
async function verifyVoucherOffline(api: DemoApi, token: string, issuerSlug: string, partnerSlug: string, voucherId: string): Promise<DemoResult['voucher']['signature']> {
  const jwks = await api.getPublic<JSONWebKeySet>(`/api/v1/issuers/${issuerSlug}/jwks`);
  try {
    const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(jwks), {
      issuer: issuerSlug,
      audience: partnerSlug,
      algorithms: ['EdDSA'],
      typ: 'cx-voucher+jwt',
    });
    return { verified: payload.sub === voucherId, kid: protectedHeader.kid ?? null, algorithm: protectedHeader.alg };
  } catch {
    return { verified: false, kid: null, algorithm: null };
  }
}

/** After a timeout: what the delivery log says about the attempts. */
async function whyNotDelivered(api: DemoApi, key: string, endpointId: string, timeoutMs: number, url: string): Promise<string> {
  const waited = `no voucher.redeemed arrived at ${url} within ${Math.round(timeoutMs / 1000)} s`;
  try {
    const { deliveries } = await api.call<{ deliveries: Array<{ id: string; status: string; attempts: number; lastError: string | null; lastStatusCode: number | null }> }>(
      'GET',
      '/v1/webhooks/deliveries',
      { key, query: { endpointId, limit: '5' } },
    );
    const last = deliveries[0];
    if (!last) return `${waited}, and none is in the delivery log yet: are the workers running (the webhook relay runs with them)?`;
    const error = last.lastError ?? (last.lastStatusCode ? `HTTP ${last.lastStatusCode}` : 'no attempt yet');
    return `${waited}; delivery ${last.id} is ${last.status} after ${last.attempts} attempt(s) (${error}). Is the server on another machine? The demo receiver listens on this one's 127.0.0.1`;
  } catch {
    return waited;
  }
}
