import { readFile } from 'node:fs/promises';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPortalUser, launchBrowser, newContext, screenshot, signIn } from './support/browser.ts';
import { codeList, rewardWithCodes, startExchangeWorld, type ExchangeWorld } from './support/exchange.ts';
import { uniqueSlug } from './support/factories.ts';
import { issuedVoucher, redeem, reverse } from './support/redemption.ts';
import { seedEntry, settlementApi } from './support/settlement.ts';

/**
 * The finance pages end to end: a month of redemptions under an agreement (through the
 * API, on a controlled clock), then the issuer's finance user builds the month's
 * statement in the portal, finalizes it (after being told it changed), downloads and
 * prints it, reconciles a file with it, and finds the figures on the dashboard.
 */

const HOUR_MS = 60 * 60 * 1000;
/** Tenants of the factories live in Europe/Moscow (UTC+3 all year). */
function moscowMonth(offset: number): string {
  const now = new Date(Date.now() + 3 * HOUR_MS);
  const index = now.getUTCFullYear() * 12 + now.getUTCMonth() + offset;
  return `${Math.floor(index / 12)}-${String((index % 12) + 1).padStart(2, '0')}`;
}
/** The last closed month: the one the statement covers. */
const CLOSED = moscowMonth(-1);

let world: ExchangeWorld;
let browser: Browser;
let agreementId: string;
let offerId: string;
let finance: { email: string; password: string };
const vouchers: { id: string; code: string }[] = [];
let unredeemed: { id: string };
let statementId: string;

beforeAll(async () => {
  // The month's activity happens on its 5th; the portal is then used "now".
  world = await startExchangeWorld({ start: `${CLOSED}-05T10:00:00Z` });
  browser = await launchBrowser();
  const setup = await rewardWithCodes(world, codeList('FIN-', 8), { agreement: { name: 'Kitchenware for stickers', model: { type: 'issuer_pays_per_redeemed', amountMinor: 2_500 } } });
  agreementId = setup.agreement.id;
  offerId = setup.offer.id;
  for (let i = 0; i < 3; i++) {
    const voucher = await issuedVoucher(world, setup.reward.id);
    vouchers.push({ id: voucher.id, code: voucher.code });
    world.clock.advance(HOUR_MS);
    const redeemed = await redeem(world, { code: voucher.code, orderRef: `ORD-${i}`, orderAmountMinor: 400_000, currency: 'RUB' });
    if (redeemed.status !== 200) throw new Error(`not redeemed: ${JSON.stringify(redeemed.body)}`);
    if (i === 2 && (await reverse(world, redeemed.body.id)).status !== 200) throw new Error('not reversed');
  }
  unredeemed = await issuedVoucher(world, setup.reward.id);
  // Back to the present: the month has ended, sessions are issued at the real time.
  world.clock.set(new Date());
  finance = await createPortalUser(world.system.services, { tenantSlug: world.issuer.tenant.slug, email: `fiona-${uniqueSlug('x')}@grocer.example`, roles: ['finance'], displayName: 'Fiona Finance' });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await world?.stop();
});

/** Money as the browser formats it (the page's locale). */
const money = (page: Page, minor: number) => page.evaluate((amount) => new Intl.NumberFormat(undefined, { style: 'currency', currency: 'RUB', minimumFractionDigits: 2 }).format(amount / 100), minor);

async function statLink(page: Page, label: string): Promise<string> {
  return (await page.getByRole('link', { name: new RegExp(`^${label}`) }).textContent()) ?? '';
}

describe('settlement in the portal', () => {
  it('builds the closed month, is told the statement changed, finalizes the new version and verifies it', async () => {
    const context = await newContext(browser, world.system.baseUrl);
    const page = await context.newPage();
    await signIn(page, finance);
    await page.getByRole('heading', { name: /Fiona Finance/ }).waitFor();
    await page.getByText(`Signed in to ${world.issuer.tenant.displayName} (${world.issuer.tenant.slug}, issuer) as Finance`).first().waitFor();
    // Nothing built yet: the month has no statement.
    await page.getByText('No statement for').waitFor();

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Settlement' }).click();
    await page.getByRole('heading', { name: 'No statements yet' }).waitFor();
    await page.getByRole('button', { name: 'Build statement' }).first().click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Agreement').selectOption(agreementId);
    expect(await dialog.getByLabel('Month').inputValue()).toBe(CLOSED);
    await dialog.getByRole('button', { name: 'Build draft' }).click();

    // The draft opens: October's lines and who owes whom.
    await page.getByRole('heading', { name: /Kitchenware for stickers/ }).waitFor();
    statementId = new URL(page.url()).pathname.split('/').at(-1)!;
    expect(statementId).toMatch(/^stm_/);
    const owed50 = await money(page, 5_000);
    await page.getByText(`You pay ${world.partner.tenant.slug} ${owed50}`).first().waitFor();
    expect(await page.getByRole('table', { name: 'This month' }).getByRole('row').allTextContents()).toEqual([
      'EventOfferCountAmount',
      `Codes redeemed${offerId}3${await money(page, 7_500)}`,
      `Redemptions reversed${offerId}1${await money(page, -2_500)}`,
      `Subtotal RUB4${owed50}`,
    ]);

    // The list shows it, with the net from the issuer's side.
    await page.getByRole('link', { name: '← Settlement' }).click();
    const row = page.getByRole('row', { name: /Kitchenware for stickers/ });
    await row.waitFor();
    expect(await row.textContent()).toContain('Draft');
    expect(await row.textContent()).toContain(`You pay ${owed50}`);
    await row.getByRole('link').first().click();
    await page.getByRole('heading', { name: /Kitchenware for stickers/ }).waitFor();
    const reviewedHash = await page.getByTestId('content-hash').textContent();

    // A late redemption of the month arrives while the draft is on screen.
    await seedEntry(world, agreementId, { voucherId: unredeemed.id, offerId, event: 'code_redeemed', amountMinor: 2_500, occurredAt: new Date(`${CLOSED}-20T12:00:00Z`) });
    await page.getByRole('button', { name: 'Finalize…' }).click();
    await page.getByRole('dialog').getByText('Finalizing fixes this statement for good').waitFor();
    await page.getByRole('dialog').getByRole('button', { name: 'Finalize statement' }).click();
    await page.getByText('This statement changed since you reviewed it').waitFor();
    const owed75 = await money(page, 7_500);
    await page.getByText(`You pay ${world.partner.tenant.slug} ${owed75}`).first().waitFor();
    expect(await page.getByTestId('content-hash').textContent()).not.toBe(reviewedHash);
    expect((await settlementApi(world, world.issuer.key).get(statementId)).body.status).toBe('draft');

    // Finalizing the version now shown works (confirmed in the dialog).
    await page.getByRole('button', { name: 'Finalize…' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Finalize statement' }).click();
    await page.locator('.page-header .badge', { hasText: 'Finalized' }).waitFor();
    await page.getByText('Finalized by you').waitFor();
    expect(await page.getByRole('button', { name: 'Finalize…' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Mark paid…' }).count()).toBe(1);
    const stored = (await settlementApi(world, world.issuer.key).get(statementId)).body;
    expect(stored).toMatchObject({ status: 'finalized', finalizedBy: 'issuer', totals: [{ currency: 'RUB', netMinor: 7_500, amountMinor: 7_500 }] });
    expect(await page.getByTestId('content-hash').textContent()).toBe(stored.contentHash);

    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByText('Verified: the finalized document rebuilds byte for byte').waitFor();
    await context.close();
  }, 60_000);

  it('downloads the summary CSV, opens the printable statement and reconciles a file with it', async () => {
    const context = await newContext(browser, world.system.baseUrl);
    const page = await context.newPage();
    await signIn(page, finance);
    await page.goto(`/portal/settlement/${statementId}`);
    await page.getByRole('heading', { name: /Kitchenware for stickers/ }).waitFor();

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Summary (CSV)' }).click()]);
    expect(download.suggestedFilename()).toBe(`${statementId}-summary.csv`);
    const csv = (await readFile((await download.path())!, 'utf8')).trim().split(/\r?\n/);
    expect(csv[0]).toMatch(/^statement_id,agreement_id,issuer,partner,period,timezone,status,content_hash,row_type,section,relates_to_period,event,offer_id,statement_ref,currency,count,amount_minor,owed_by,owed_to/);
    const total = csv.find((line) => line.includes(',total,'))!;
    expect(total).toContain(`,finalized,`);
    expect(total).toMatch(new RegExp(`,RUB,,7500,${world.issuer.tenant.slug},${world.partner.tenant.slug}$`));

    const [printable] = await Promise.all([context.waitForEvent('page'), page.getByRole('link', { name: 'Printable statement' }).click()]);
    await printable.waitForLoadState();
    const html = await printable.content();
    expect(html).toContain(`${world.issuer.tenant.slug} pays ${world.partner.tenant.slug} 75.00 RUB`);
    await printable.close();

    // The issuer's own list: one voucher right, one with another amount, one the
    // statement does not know, one missing, and an unreadable row.
    const file = [
      'voucher_id,order_ref,amount_minor',
      `${vouchers[0]!.id},ORD-0,2500`,
      `${vouchers[1]!.id},ORD-1,2000`,
      'vch_000000000000,ORD-X,2500',
      `${vouchers[2]!.id},ORD-2,abc`,
    ].join('\n');
    await page.getByLabel('Your list (CSV)').setInputFiles({ name: 'grocer-month.csv', mimeType: 'text/csv', buffer: Buffer.from(`${file}\n`) });
    await page.getByRole('button', { name: 'Upload and compare' }).click();
    const result = page.getByRole('group', { name: 'Result of your upload' });
    await result.waitFor();
    const count = async (outcome: string) => (await result.locator(`[data-outcome="${outcome}"] .recon-value`).textContent())?.trim();
    expect({
      matched: await count('matched'),
      missing_ours: await count('missing_ours'),
      missing_theirs: await count('missing_theirs'),
      mismatch: await count('mismatch'),
      invalid_row: await count('invalid_row'),
    }).toEqual({ matched: '1', missing_ours: '1', missing_theirs: '1', mismatch: '1', invalid_row: '1' });
    await page.getByText('Differences found').waitFor();
    expect(await page.getByRole('link', { name: 'Download the report (CSV)' }).getAttribute('href')).toMatch(/^\/api\/v1\/settlement\/reconciliations\/rec_[0-9A-Za-z]{12}\/report\.csv$/);
    // The statement now shows it as the issuer's latest upload.
    await page.getByRole('group', { name: 'Your latest reconciliation' }).waitFor();
    expect((await settlementApi(world, world.issuer.key).get(statementId)).body.reconciliation.issuer).toMatchObject({ reconciled: false, matched: 1, missingOurs: 1, missingTheirs: 1, mismatched: 1, invalidRows: 1 });

    // The issuer (the payer) concedes 10.00 more: the finalized statement stays as it is,
    // and the open month's statement carries the adjustment, once, however often it is sent.
    const before = (await settlementApi(world, world.issuer.key).get(statementId)).body.contentHash;
    await page.getByRole('button', { name: 'Concede an amount…' }).click();
    const concede = page.getByRole('dialog', { name: 'Concede an amount' });
    await concede.getByRole('button', { name: 'Concede' }).click();
    await concede.getByText('Enter an amount such as 10.00.').waitFor();
    await concede.getByLabel('Amount (RUB)').fill('10.00');
    await concede.getByLabel('Reason').fill('Order ORD-1 was refunded in full.');
    await concede.getByRole('button', { name: 'Concede' }).click();
    await page.getByText(/Conceded .* to .*: it appears on the .* statement/).waitFor();
    expect((await settlementApi(world, world.issuer.key).get(statementId)).body.contentHash).toBe(before);
    const open = (await settlementApi(world, world.issuer.key).build(agreementId, moscowMonth(0))).body;
    expect(open.lines.filter((line: { section: string }) => line.section === 'adjustment')).toEqual([
      expect.objectContaining({ event: 'adjustment', currency: 'RUB', count: 1, amountMinor: 1_000 }),
    ]);
    await context.close();
  }, 60_000);

  it("shows the month's statements on the finance user's dashboard, and the pages at tablet width", async () => {
    const context = await newContext(browser, world.system.baseUrl);
    const page = await context.newPage();
    await signIn(page, finance);
    await page.getByRole('heading', { name: /Fiona Finance/ }).waitFor();
    await page.getByRole('link', { name: /^Finalized, unpaid/ }).waitFor();
    const owed75 = await money(page, 7_500);
    expect(await statLink(page, 'Finalized, unpaid')).toBe('Finalized, unpaid1');
    expect(await statLink(page, 'Drafts to finalize')).toBe('Drafts to finalize0');
    expect(await statLink(page, 'You owe')).toContain(owed75);
    expect(await page.getByRole('link', { name: /^Finalized, unpaid/ }).getAttribute('href')).toBe(`/portal/settlement?period=${CLOSED}&status=finalized`);
    // A finance user has no pool, campaign or admin numbers.
    expect(await page.getByRole('heading', { name: 'Offers and pools' }).count()).toBe(0);
    expect(await page.getByRole('heading', { name: 'People and access' }).count()).toBe(0);
    await screenshot(page, 'dashboard-finance');

    await page.getByRole('link', { name: /^Finalized, unpaid/ }).click();
    await page.getByRole('row', { name: /Kitchenware for stickers/ }).waitFor();
    expect(await page.getByLabel('Status').inputValue()).toBe('finalized');
    await screenshot(page, 'finance-settlement');
    await page.getByRole('row', { name: /Kitchenware for stickers/ }).click();
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByText('Verified: the finalized document rebuilds byte for byte').waitFor();
    await screenshot(page, 'finance-statement');

    // At tablet width the statement keeps its figures and drops secondary columns, without scrolling sideways.
    await page.setViewportSize({ width: 820, height: 1180 });
    await page.goto(`/portal/settlement/${statementId}`);
    await page.getByRole('button', { name: 'Verify' }).waitFor();
    await page.getByText(`You pay ${world.partner.tenant.slug} ${owed75}`).first().waitFor();
    expect(await page.getByRole('table', { name: 'This month' }).getByRole('columnheader', { name: 'Offer' }).isVisible()).toBe(false);
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(820);
    await screenshot(page, 'finance-statement-tablet');
    await context.close();
  }, 60_000);

  it('gives each role its own dashboard cards, every one loaded without error', async () => {
    const services = world.system.services;
    const people = [
      {
        name: 'admin',
        user: await createPortalUser(services, { tenantSlug: world.issuer.tenant.slug, email: `ada-${uniqueSlug('x')}@grocer.example`, roles: ['admin'] }),
        cards: ['Settlement for', 'Campaigns and rewards', 'Agreements', 'People and access', 'Webhooks'],
        absent: ['Offers and pools', 'Coalition'],
      },
      {
        name: 'pool-manager',
        user: await createPortalUser(services, { tenantSlug: world.partner.tenant.slug, email: `pia-${uniqueSlug('x')}@volt.example`, roles: ['pool_manager'] }),
        cards: ['Offers and pools', 'Redemptions, last 7 days', 'Agreements'],
        absent: ['Settlement for', 'People and access'],
      },
      { name: 'operator', user: await createPortalUser(services, { tenantSlug: null, email: `otto-${uniqueSlug('x')}@coalition.example`, roles: ['operator'] }), cards: ['Coalition'], absent: ['Settlement for', 'Agreements'] },
    ];
    const context = await newContext(browser, world.system.baseUrl);
    for (const person of people) {
      const page = await context.newPage();
      await signIn(page, person.user);
      for (const card of person.cards) await page.getByRole('heading', { name: new RegExp(`^${card}`) }).waitFor();
      await expect.poll(() => page.locator('main .loading').count()).toBe(0);
      expect(await page.getByRole('main').getByRole('alert').count()).toBe(0);
      for (const card of person.absent) expect(await page.getByRole('heading', { name: new RegExp(`^${card}`) }).count()).toBe(0);
      if (person.cards.includes('Offers and pools')) {
        // 8 codes, 4 handed out, a low-stock threshold of 10: the offer is low, with 4 left.
        expect(await statLink(page, 'Low stock')).toMatch(/^Low stock1/);
        await page.getByRole('list', { name: 'Offers running out of codes' }).getByText('4 left').waitFor();
      }
      await screenshot(page, `dashboard-${person.name}`);
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByLabel('Email').waitFor();
      await page.close();
    }
    await context.close();
  }, 60_000);

  it('records the payment, then the issuer disputes and resolves it while the partner sees the dispute but cannot resolve it', async () => {
    // Runs last: the dashboard counts above expect the statement still finalized and unpaid.
    const issuerApi = settlementApi(world, world.issuer.key);
    const partnerApi = settlementApi(world, world.partner.key);
    const partnerFinance = await createPortalUser(world.system.services, { tenantSlug: world.partner.tenant.slug, email: `pavel-${uniqueSlug('x')}@volt.example`, roles: ['finance'], displayName: 'Pavel Payee' });
    const reference = `SEPA-${CLOSED}-004512`;
    const reason = 'Order ORD-1 was refunded in full: its redemption should not be charged.';
    const resolution = 'Adjusted by 10.00 on the next statement.';

    const context = await newContext(browser, world.system.baseUrl);
    const page = await context.newPage();
    await signIn(page, finance);
    await page.goto(`/portal/settlement/${statementId}`);
    await page.getByRole('heading', { name: /Kitchenware for stickers/ }).waitFor();
    const badge = page.locator('.page-header .badge');
    const history = page.getByRole('list', { name: 'History' });
    expect(await badge.textContent()).toBe('Finalized');
    const { entryCount } = (await issuerApi.get(statementId)).body;

    // 1. Mark paid: an empty reference is refused in the dialog, then the reference is recorded.
    world.clock.advance(60_000);
    await page.getByRole('button', { name: 'Mark paid…' }).click();
    const pay = page.getByRole('dialog', { name: 'Record the payment' });
    await pay.getByRole('button', { name: 'Mark paid', exact: true }).click();
    await pay.getByRole('alert').filter({ hasText: 'Enter the payment reference' }).waitFor();
    expect(await pay.getByLabel('Payment reference').getAttribute('aria-invalid')).toBe('true');
    expect((await issuerApi.get(statementId)).body.status).toBe('finalized');
    await pay.getByLabel('Payment reference').fill(reference);
    expect(await pay.getByText('Enter the payment reference').count()).toBe(0);
    await pay.getByRole('button', { name: 'Mark paid', exact: true }).click();
    await badge.filter({ hasText: /^Paid$/ }).waitFor();
    await pay.waitFor({ state: 'hidden' });
    await page.getByRole('status').filter({ hasText: 'Payment recorded: the statement is paid' }).waitFor();
    const paidItem = history.getByRole('listitem').filter({ hasText: 'Marked paid by you' });
    await paidItem.waitFor();
    expect(await paidItem.textContent()).toContain(`Reference: ${reference}`);
    expect(await page.getByRole('button', { name: 'Mark paid…' }).count()).toBe(0);
    expect((await issuerApi.get(statementId)).body).toMatchObject({ status: 'paid', paidBy: 'issuer', paymentReference: reference });
    // The partner's side of the API sees the same payment.
    expect((await partnerApi.get(statementId)).body).toMatchObject({ status: 'paid', paidBy: 'issuer', paymentReference: reference, yourSide: 'partner' });

    // 2. Dispute the paid statement, with a reason.
    world.clock.advance(60_000);
    await page.getByRole('button', { name: 'Dispute…', exact: true }).click();
    const dispute = page.getByRole('dialog', { name: 'Dispute this statement' });
    await dispute.getByLabel('Reason').fill(reason);
    await dispute.getByRole('button', { name: 'Dispute statement' }).click();
    await badge.filter({ hasText: /^Disputed$/ }).waitFor();
    await dispute.waitFor({ state: 'hidden' });
    const disputeAlert = page.getByRole('status').filter({ hasText: /^Disputed by you on / });
    await disputeAlert.waitFor();
    expect(await disputeAlert.textContent()).toContain(reason);
    expect(await history.getByRole('listitem').filter({ hasText: 'Disputed by you' }).textContent()).toContain(reason);
    expect(await page.getByRole('button', { name: 'Dispute…', exact: true }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Resolve dispute…' }).count()).toBe(1);
    expect((await issuerApi.get(statementId)).body).toMatchObject({ status: 'disputed', disputedBy: 'issuer', disputeReason: reason, paymentReference: reference, disputeResolvedAt: null });

    // The other party (the partner's finance user, in a browser of their own) sees the dispute, and cannot resolve it.
    const partnerContext = await newContext(browser, world.system.baseUrl);
    const partnerPage = await partnerContext.newPage();
    await signIn(partnerPage, partnerFinance);
    await partnerPage.goto(`/portal/settlement/${statementId}`);
    await partnerPage.getByRole('heading', { name: /Kitchenware for stickers/ }).waitFor();
    await partnerPage.locator('.page-header .badge', { hasText: /^Disputed$/ }).waitFor();
    const seenByPartner = partnerPage.getByRole('status').filter({ hasText: `Disputed by ${world.issuer.tenant.slug} on ` });
    await seenByPartner.waitFor();
    expect(await seenByPartner.textContent()).toContain(reason);
    expect(await seenByPartner.textContent()).toContain(`Only ${world.issuer.tenant.slug} resolves this dispute`);
    expect(await partnerPage.getByRole('list', { name: 'History' }).getByRole('listitem').filter({ hasText: `Marked paid by ${world.issuer.tenant.slug}` }).textContent()).toContain(`Reference: ${reference}`);
    // The page has loaded its actions (the partner may write: it can concede), yet offers no resolve.
    await partnerPage.getByRole('button', { name: 'Concede an amount…' }).waitFor();
    expect(await partnerPage.getByRole('button', { name: 'Resolve dispute…' }).count()).toBe(0);
    expect(await partnerPage.getByRole('button', { name: 'Dispute…', exact: true }).count()).toBe(0);
    // Nor does the API let the partner resolve it.
    const refused = await partnerApi.resolve(statementId, 'Not ours to resolve.');
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('STATEMENT_ACTION_FORBIDDEN');

    // 3. The issuer, who raised it, resolves it: the statement returns to paid.
    world.clock.advance(60_000);
    await page.getByRole('button', { name: 'Resolve dispute…' }).click();
    const resolve = page.getByRole('dialog', { name: 'Resolve the dispute' });
    await resolve.getByText('The statement returns to paid.').waitFor();
    await resolve.getByLabel('Resolution').fill(resolution);
    await resolve.getByRole('button', { name: 'Resolve dispute', exact: true }).click();
    await badge.filter({ hasText: /^Paid$/ }).waitFor();
    await resolve.waitFor({ state: 'hidden' });
    expect(await page.getByRole('status').filter({ hasText: /^Disputed by / }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Resolve dispute…' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Dispute…', exact: true }).count()).toBe(1);
    const titles = await history.getByRole('listitem').locator('strong').allTextContents();
    expect(titles).toEqual([`Last built from ${entryCount} entries`, 'Finalized by you', 'Marked paid by you', 'Disputed by you', 'Dispute resolved']);
    expect(await history.getByRole('listitem').filter({ hasText: 'Dispute resolved' }).textContent()).toContain(resolution);
    expect((await issuerApi.get(statementId)).body).toMatchObject({ status: 'paid', paymentReference: reference, disputedBy: 'issuer', disputeReason: reason, disputeResolution: resolution });

    // The partner, on reload, sees it paid again with how the dispute ended.
    await partnerPage.reload();
    await partnerPage.locator('.page-header .badge', { hasText: /^Paid$/ }).waitFor();
    expect(await partnerPage.getByRole('list', { name: 'History' }).getByRole('listitem').filter({ hasText: 'Dispute resolved' }).textContent()).toContain(resolution);
    await partnerContext.close();
    await context.close();
  }, 60_000);
});
