import { readFile } from 'node:fs/promises';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPortalUser, launchBrowser, newContext, screenshot, signIn } from './support/browser.ts';
import { codeList, rewardWithCodes, startExchangeWorld, type ExchangeWorld } from './support/exchange.ts';
import { uniqueSlug } from './support/factories.ts';
import { request } from './support/http-client.ts';
import { issuedVoucher, redeem } from './support/redemption.ts';

let world: ExchangeWorld;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let user: { id: string; email: string; password: string };
let seededOfferId: string;
const redemptionIds: Record<string, string> = {};

const GOOD_CODES = 5_000;
/** 5,000 codes, then three bad rows: too short, a space, a duplicate of the first code. */
const CSV = ['code', ...Array.from({ length: GOOD_CODES }, (_, i) => `SPRING-26-${String(i + 1).padStart(5, '0')}`), 'AB', 'BAD CODE!', 'spring-26-00001', ''].join('\n');

const api = (method: string, path: string, body?: unknown) => request(world.system.baseUrl, method, `/api/v1${path}`, { key: world.partner.key, ...(body !== undefined && { body }) });

beforeAll(async () => {
  // The real time, frozen: today's bars in the 7-day chart, sessions that have not expired.
  world = await startExchangeWorld({ start: new Date().toISOString() });
  browser = await launchBrowser();
  user = await createPortalUser(world.system.services, { tenantSlug: world.partner.tenant.slug, email: `pia-${uniqueSlug('x')}@volt.example`, roles: ['pool_manager'] });

  // Through the API: an offer in an agreement with a reward, three vouchers issued, two redeemed.
  const { offer, reward } = await rewardWithCodes(world, codeList('GIFT-', 6));
  seededOfferId = offer.id;
  for (const orderRef of ['ORD-1001', 'ORD-1002']) {
    const voucher = await issuedVoucher(world, reward.id);
    const res = await redeem(world, { code: voucher.code, orderRef, orderAmountMinor: 400_000, currency: 'RUB' });
    if (res.status !== 200) throw new Error(`not redeemed: ${res.status} ${JSON.stringify(res.body)}`);
    redemptionIds[orderRef] = res.body.id;
  }
  await issuedVoucher(world, reward.id);

  context = await newContext(browser, world.system.baseUrl, 1280);
  page = await context.newPage();
  await signIn(page, user);
}, 90_000);

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await world?.stop();
});


/** Watches the Import bar until it shows 100%, checking that it never moves back. */
async function watchImportReach100(page: Page, timeout: number): Promise<void> {
  const importBar = page.getByRole('progressbar', { name: 'Import' });
  const seen: number[] = [];
  await expect
    .poll(
      async () => {
        const now = Number(await importBar.getAttribute('aria-valuenow'));
        if (seen.at(-1) !== now) seen.push(now);
        return now;
      },
      { timeout, interval: 50 },
    )
    .toBe(100);
  expect(seen).toEqual([...seen].sort((a, b) => a - b));
}

describe('partner portal: offers and pools', () => {
  let offerId: string;

  it('creates an offer from the offers page', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Offers & pools' }).click();
    await page.getByRole('heading', { name: 'Offers & pools' }).waitFor();
    await page.getByRole('link', { name: '500 RUB off orders over 3,000 RUB' }).waitFor();

    await page.getByRole('button', { name: 'New offer' }).click();
    const dialog = page.getByRole('dialog');
    // Nothing filled in: the browser-side checks name the fields.
    await dialog.getByRole('button', { name: 'Create draft' }).click();
    await dialog.getByText('Give the offer a title customers will see.').waitFor();

    await dialog.getByLabel('Title').fill('Spring sale: 15% off');
    await dialog.getByLabel('Discount type').selectOption('percent');
    await dialog.getByLabel('Percent off').fill('15');
    await dialog.getByLabel('Minimum order (optional)').fill('2000');
    await dialog.getByLabel('Start as').selectOption('active');
    await dialog.getByRole('button', { name: 'Create and activate' }).click();

    await page.getByRole('heading', { name: /Spring sale: 15% off/ }).waitFor();
    offerId = new URL(page.url()).pathname.split('/').at(-1)!;
    expect(offerId).toMatch(/^off_/);
    const offer = await api('GET', `/offers/${offerId}`);
    expect(offer.body).toMatchObject({ title: 'Spring sale: 15% off', status: 'active', value: { type: 'percent', percent: 15 }, minOrderMinor: 200_000, currency: 'RUB', stockState: 'empty' });
  });

  it('uploads a CSV: the upload, then the import, each to 100%, with the accepted and rejected counts', async () => {
    await page.getByRole('button', { name: 'Upload CSV' }).first().click();
    await page.getByLabel('CSV file').setInputFiles({ name: 'spring-codes.csv', mimeType: 'text/csv', buffer: Buffer.from(CSV) });
    await page.getByRole('button', { name: 'Upload', exact: true }).click();

    // The bar only moves forward, and 100% means the batch is ready.
    await watchImportReach100(page, 30_000);
    expect(await page.getByRole('progressbar', { name: 'Upload' }).getAttribute('aria-valuenow')).toBe('100');
    await page.getByText(`5,000 codes added to the pool, 3 rows rejected.`).waitFor();
    const reasons = page.getByRole('list', { name: 'Rejected rows by reason' }).first();
    await expect.poll(() => reasons.textContent()).toContain('TOO_SHORT');
    expect(await reasons.textContent()).toContain('INVALID_CHARACTERS');
    expect(await reasons.textContent()).toContain('DUPLICATE_IN_FILE');

    const batches = await api('GET', `/offers/${offerId}/code-batches`);
    expect(batches.body.batches).toHaveLength(1);
    const batch = batches.body.batches[0];
    expect(batch).toMatchObject({ status: 'ready', name: 'spring-codes.csv', progress: { rowsRead: GOOD_CODES + 3, accepted: GOOD_CODES, rejected: 3, bytesReceived: Buffer.byteLength(CSV), bytesRead: Buffer.byteLength(CSV) } });

    // The batch table shows it too.
    const row = page.getByRole('row', { name: /spring-codes\.csv/ });
    await expect.poll(() => row.textContent()).toContain('Ready');
    expect(await row.textContent()).toContain('5,000');
    await screenshot(page, 'partner-offer-import');
  });

  it('downloads the reject report', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download reject report' }).click()]);
    expect(download.suggestedFilename()).toMatch(/^bat_.*-rejects\.csv$/);
    const text = await readFile((await download.path())!, 'utf8');
    expect(text.split('\r\n').filter(Boolean)).toEqual([
      'line,code,reason,detail',
      `${GOOD_CODES + 2},AB,TOO_SHORT,2 characters; at least 4`,
      `${GOOD_CODES + 3},BAD CODE!,INVALID_CHARACTERS,"character "" "" is not allowed"`,
      `${GOOD_CODES + 4},SPRING-26-00001,DUPLICATE_IN_FILE,first on line 2`,
    ]);
  });

  it('shows the stock and sets the low-stock watermark', async () => {
    const available = page.locator('.stat', { hasText: 'Available' }).locator('.stat-value');
    await expect.poll(() => available.textContent()).toBe('5,000');
    expect(await page.getByTestId('days-until-empty').textContent()).toBe('—');
    await page.getByRole('img', { name: /Codes per day, last 7 days: 0 issued, 0 redeemed/ }).waitFor();

    await page.getByLabel('Low-stock alert at').fill('6000');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByText('Low-stock alert set to 6,000 codes').waitFor();
    const offer = await api('GET', `/offers/${offerId}`);
    expect(offer.body).toMatchObject({ lowStockThreshold: 6_000, stockState: 'low' });
    await expect.poll(() => page.locator('.card-header', { hasText: 'Pool stock' }).textContent()).toContain('Low');
    await page.getByRole('button', { name: 'Close', exact: true }).click();
  });

  it('pauses and resumes the offer', async () => {
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.getByRole('button', { name: 'Resume' }).waitFor();
    expect((await api('GET', `/offers/${offerId}`)).body.status).toBe('paused');
    await page.getByRole('button', { name: 'Resume' }).click();
    await page.getByRole('button', { name: 'Pause' }).waitFor();
    expect((await api('GET', `/offers/${offerId}`)).body.status).toBe('active');
  });

  it('shows issued and redeemed codes of the seeded offer, and lists both offers', async () => {
    await page.goto(`/portal/offers/${seededOfferId}`);
    await page.getByRole('img', { name: 'Codes per day, last 7 days: 3 issued, 2 redeemed.' }).waitFor();
    const redeemed = page.locator('.stat', { hasText: 'Redeemed' }).locator('.stat-value');
    await expect.poll(() => redeemed.textContent()).toBe('2');
    await page.getByRole('row', { name: /Ready/ }).waitFor();
    await screenshot(page, 'partner-offer-detail');

    await page.getByRole('link', { name: '← Offers & pools' }).click();
    await page.getByRole('link', { name: 'Spring sale: 15% off' }).waitFor();
    await page.getByRole('link', { name: '500 RUB off orders over 3,000 RUB' }).waitFor();
    await screenshot(page, 'partner-offers');
  });

  it('renders the offer detail at tablet width', async () => {
    const tablet = await newContext(browser, world.system.baseUrl, 820);
    // The same session in a second window (the sign-out button hides behind the menu at this width).
    await tablet.addCookies(await context.cookies());
    const narrow = await tablet.newPage();
    await narrow.goto(`/portal/offers/${offerId}`);
    await narrow.getByRole('row', { name: /spring-codes\.csv/ }).waitFor();
    // Less important columns give way on a narrow screen.
    expect(await narrow.getByRole('columnheader', { name: 'Created' }).isVisible()).toBe(false);
    expect(await narrow.getByRole('columnheader', { name: 'Accepted' }).isVisible()).toBe(true);
    await screenshot(narrow, 'partner-offer-detail-tablet');
    await tablet.close();
  });

  it('edits the offer: a new title and percentage, after the form refuses an empty title', async () => {
    await page.goto(`/portal/offers/${offerId}`);
    await page.getByRole('heading', { name: /Spring sale: 15% off/ }).waitFor();
    await page.getByRole('row', { name: /spring-codes\.csv/ }).waitFor();
    await page.getByRole('button', { name: 'Edit', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'Edit “Spring sale: 15% off”' });
    await dialog.waitFor();
    expect(await dialog.getByLabel('Title').inputValue()).toBe('Spring sale: 15% off');
    expect(await dialog.getByLabel('Percent off').inputValue()).toBe('15');
    // The offer has a batch: its code rules are fixed.
    await dialog.getByText('Code rules (fixed: the offer has code batches)').waitFor();

    // An empty title: the field says what is missing, nothing is sent.
    await dialog.getByLabel('Title').fill('   ');
    await dialog.getByRole('button', { name: 'Save changes' }).click();
    await dialog.getByText('Give the offer a title customers will see.').waitFor();
    expect(await dialog.getByLabel('Title').getAttribute('aria-invalid')).toBe('true');
    expect((await api('GET', `/offers/${offerId}`)).body.title).toBe('Spring sale: 15% off');

    // Three decimals: only the server knows, and its answer lands on the field.
    await dialog.getByLabel('Title').fill('Spring sale: 20% off');
    await dialog.getByLabel('Percent off').fill('20.125');
    await dialog.getByRole('button', { name: 'Save changes' }).click();
    await expect.poll(() => dialog.getByLabel('Percent off').getAttribute('aria-invalid')).toBe('true');
    await dialog.getByText('must have at most two decimals').waitFor();
    expect(await dialog.getByText('Give the offer a title customers will see.').count()).toBe(0);
    expect((await api('GET', `/offers/${offerId}`)).body).toMatchObject({ title: 'Spring sale: 15% off', value: { type: 'percent', percent: 15 } });

    await dialog.getByLabel('Percent off').fill('20');
    await dialog.getByRole('button', { name: 'Save changes' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await page.getByRole('status').filter({ hasText: 'Offer saved' }).waitFor();
    await page.getByRole('heading', { name: /Spring sale: 20% off/ }).waitFor();
    await page.getByText(/^20% off on orders from/).waitFor();
    const offer = await api('GET', `/offers/${offerId}`);
    expect(offer.status).toBe(200);
    // Only the title and the value changed.
    expect(offer.body).toMatchObject({ title: 'Spring sale: 20% off', status: 'active', value: { type: 'percent', percent: 20 }, minOrderMinor: 200_000, currency: 'RUB', lowStockThreshold: 6_000 });
  });

  it('generates 50 codes: the import reaches 100%, the batch is ready and the pool 50 codes larger', async () => {
    const available = page.locator('.stat', { hasText: 'Available' }).locator('.stat-value');
    await expect.poll(() => available.textContent()).toBe('5,000');
    await page.getByRole('button', { name: 'Generate codes' }).click();
    const dialog = page.getByRole('dialog', { name: 'Generate codes' });
    await dialog.getByLabel('Number of codes').fill('50');
    await dialog.getByLabel('Prefix (optional)').fill('flyer-');
    await dialog.getByLabel('Random characters').fill('8');
    await dialog.getByLabel('Batch name (optional)').fill('Spring flyer');
    await dialog.getByRole('button', { name: 'Generate', exact: true }).click();
    await dialog.waitFor({ state: 'hidden' });
    await page.getByRole('status').filter({ hasText: 'Generating 50 codes' }).waitFor();
    await page.getByRole('heading', { name: 'Generating “Spring flyer”' }).waitFor();

    await watchImportReach100(page, 20_000);
    await page.getByText('50 codes added to the pool, 0 rows rejected.').waitFor();

    const row = page.getByRole('row', { name: /Spring flyer/ });
    await expect.poll(() => row.textContent()).toContain('Ready');
    expect(await row.textContent()).toContain('FLYER-…'); // the prefix, in the offer's upper case
    await expect.poll(() => available.textContent()).toBe('5,050');

    const batches = await api('GET', `/offers/${offerId}/code-batches`);
    const batch = batches.body.batches.find((b: { name: string }) => b.name === 'Spring flyer');
    expect(batch).toMatchObject({ kind: 'generated', status: 'ready', progress: { accepted: 50, rejected: 0 }, generation: { count: 50, prefix: 'FLYER-', length: 8 } });
    const pool = await api('GET', `/offers/${offerId}/pool`);
    expect(pool.body.counts).toMatchObject({ available: 5_050, voided: 0 });
    const codes = await world.partnerDb().selectFrom('codes').select(['status']).where('batch_id', '=', batch.id).execute();
    expect(codes).toHaveLength(50);
    expect(codes.every((code) => code.status === 'available')).toBe(true);
    await page.getByRole('button', { name: 'Close', exact: true }).click();
    await screenshot(page, 'partner-offer-generated');
  });

  it('voids the generated batch with a reason: it shows as voided and its codes leave the pool', async () => {
    const available = page.locator('.stat', { hasText: 'Available' }).locator('.stat-value');
    const voided = page.locator('.stat', { hasText: 'Voided' }).locator('.stat-value');
    await page.getByRole('button', { name: 'Void Spring flyer' }).click();
    const dialog = page.getByRole('dialog', { name: 'Void “Spring flyer”?' });
    // The list does not count a batch's codes; the dialog still says what happens to them.
    await dialog.getByText(/available codes leave the pool at once/).waitFor();
    // No reason: the dialog asks for one.
    await dialog.getByRole('button', { name: 'Void batch' }).click();
    await dialog.getByText('Say why, for the audit trail').waitFor();
    expect((await api('GET', `/offers/${offerId}/pool`)).body.counts.available).toBe(5_050);

    await dialog.getByLabel('Reason').fill('Flyer print cancelled');
    await dialog.getByRole('button', { name: 'Void batch' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await page.getByRole('status').filter({ hasText: 'Batch “Spring flyer” voided' }).waitFor();
    const row = page.getByRole('row', { name: /Spring flyer/ });
    await expect.poll(() => row.textContent()).toContain('Voided');
    expect(await row.getByRole('button', { name: 'Void Spring flyer' }).count()).toBe(0);
    await expect.poll(() => available.textContent()).toBe('5,000');
    expect(await voided.textContent()).toBe('50');
    // The uploaded batch is untouched.
    expect(await page.getByRole('row', { name: /spring-codes\.csv/ }).textContent()).toContain('Ready');

    const batches = await api('GET', `/offers/${offerId}/code-batches`);
    const batch = batches.body.batches.find((b: { name: string }) => b.name === 'Spring flyer');
    expect(batch).toMatchObject({ status: 'voided', voidReason: 'Flyer print cancelled' });
    expect(batch.voidedAt).not.toBeNull();
    const pool = await api('GET', `/offers/${offerId}/pool`);
    expect(pool.body.counts).toMatchObject({ available: 5_000, voided: 50 });
    const codes = await world.partnerDb().selectFrom('codes').select(['status']).where('batch_id', '=', batch.id).execute();
    expect(codes.map((code) => code.status)).toEqual(Array(50).fill('voided'));

    // The batch's own view says the same.
    await page.getByRole('button', { name: 'Details of Spring flyer' }).click();
    const details = page.getByRole('dialog', { name: 'Spring flyer' });
    await details.getByText('50 voided').waitFor();
    await details.getByText(/: Flyer print cancelled$/).waitFor();
    expect(await details.getByRole('button', { name: 'Void batch' }).count()).toBe(0);
    await screenshot(page, 'partner-offer-voided');
    await details.getByRole('button', { name: 'Close', exact: true }).last().click();
    await details.waitFor({ state: 'hidden' });
  });
});

describe('partner portal: redemptions', () => {
  it('finds a redemption by order reference and reverses it with a reason', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Redemptions' }).click();
    await page.getByRole('cell', { name: 'ORD-1001', exact: true }).waitFor();
    await page.getByRole('cell', { name: 'ORD-1002', exact: true }).waitFor();
    await screenshot(page, 'partner-redemptions');

    const search = page.getByRole('search', { name: 'Filter redemptions' });
    await search.getByLabel('Order reference').fill('ORD-1001');
    await search.getByLabel('Order reference').press('Enter');
    await expect.poll(() => page.getByRole('row').count()).toBe(2); // the header and one redemption
    await page.getByRole('cell', { name: 'ORD-1001', exact: true }).waitFor();

    await page.getByRole('button', { name: 'Reverse redemption of order ORD-1001' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('button', { name: 'Reverse redemption' }).click();
    await dialog.getByText('Say why').waitFor();
    await dialog.getByLabel('Reason').fill('Order cancelled by the customer');
    await dialog.getByLabel('Reason').press('Enter');
    await page.getByText('Redemption of order ORD-1001 reversed').waitFor();
    await expect.poll(() => page.getByRole('row', { name: /ORD-1001/ }).textContent()).toContain('Reversed');
    expect(await page.getByRole('row', { name: /ORD-1001/ }).textContent()).toContain('Order cancelled by the customer');

    const reversed = await api('GET', `/redemptions/${redemptionIds['ORD-1001']}`);
    expect(reversed.body).toMatchObject({ status: 'reversed', reversal: { reason: 'Order cancelled by the customer' }, reversibleUntil: null });
    expect((await api('GET', `/redemptions/${redemptionIds['ORD-1002']}`)).body.status).toBe('redeemed');

    // The reversed redemption no longer counts as redeemed in the pool's chart.
    const pool = await api('GET', `/offers/${seededOfferId}/pool`);
    expect(pool.body.daily.reduce((sum: number, day: { redeemed: number }) => sum + day.redeemed, 0)).toBe(1);
    expect(pool.body.daily.reduce((sum: number, day: { issued: number }) => sum + day.issued, 0)).toBe(3);

    // Filtering by status.
    await search.getByLabel('Order reference').fill('');
    await search.getByLabel('Status').selectOption('reversed');
    await search.getByRole('button', { name: 'Search' }).click();
    await expect.poll(() => page.getByRole('row').count()).toBe(2);
    await page.getByRole('cell', { name: 'ORD-1001', exact: true }).waitFor();
  });
});
