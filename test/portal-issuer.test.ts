import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPortalUser, launchBrowser, newContext, screenshot, signIn } from './support/browser.ts';
import { uniqueSlug } from './support/factories.ts';
import { request } from './support/http-client.ts';
import { activeAgreement, codeList, createReward, customersWithStickers, exchange, offerWithCodes, startExchangeWorld, type ExchangeWorld } from './support/exchange.ts';

/**
 * The issuer's marketer in the portal: a campaign made in the rules editor (refused
 * first, next to the right fields), a reward listed from a partner's offer with its
 * live stock, and a customer's voucher cancelled with the stickers refunded.
 */
let world: ExchangeWorld;
let browser: Browser;
let marketer: { email: string; password: string };
let pans: { id: string };
let agreement: { id: string };
let customerId: string;
let otherCustomerId: string;
let cardNumber: string;

const DAY_MS = 24 * 60 * 60 * 1000;
/** A date-time-local value `days` from today, at `time` (tenant wall clock). */
const localDay = (days: number, time = '09:00') => `${new Date(Date.now() + days * DAY_MS).toISOString().slice(0, 10)}T${time}`;
const api = (method: string, path: string, body?: unknown) => request(world.system.baseUrl, method, `/api/v1${path}`, { key: world.issuer.key, ...(body !== undefined && { body }) });

/** The message shown next to a field: the element its aria-describedby names. */
async function messageOf(page: Page, field: Locator): Promise<string> {
  await expect.poll(() => field.getAttribute('aria-invalid')).toBe('true');
  const id = await field.getAttribute('aria-describedby');
  return (await page.locator(`[id="${id}"]`).textContent()) ?? '';
}

/** An open dialog, by its heading (the native <dialog> carries no accessible name of its own). */
const dialogTitled = (page: Page, title: string) => page.getByRole('dialog').filter({ has: page.getByRole('heading', { name: title, exact: true }) });

const statValue = (page: Page, label: string) => page.locator('.stat', { has: page.locator('.stat-label', { hasText: label }) }).locator('.stat-value');

beforeAll(async () => {
  // The server's clock starts at the real time, so the browser's session cookie and the dates typed agree with it.
  world = await startExchangeWorld({ start: new Date().toISOString() });
  browser = await launchBrowser();
  marketer = await createPortalUser(world.system.services, { tenantSlug: world.issuer.tenant.slug, email: `mia-${uniqueSlug('m')}@grocer.example`, roles: ['marketer'] });

  // The partner's two offers under one agreement in force; one is already a reward (by API).
  pans = await offerWithCodes(world, codeList('PAN-', 12), { title: 'Frying pan discount' });
  const knives = await offerWithCodes(world, codeList('KNIFE-', 3), { title: 'Knife set discount' });
  agreement = await activeAgreement(world, [pans.id, knives.id]);
  const knifeReward = await createReward(world, { agreementId: agreement.id, offerId: knives.id, title: 'Knife set voucher', stickerCost: 10 });

  // A customer with 40 stickers who exchanged 10 of them for a knife-set voucher.
  [customerId, otherCustomerId] = (await customersWithStickers(world, 2, 40)) as [string, string];
  cardNumber = (await world.issuerDb().selectFrom('customers').select('card_number').where('id', '=', customerId).executeTakeFirstOrThrow()).card_number!;
  const exchanged = await exchange(world, { customer: { customerId }, rewardId: knifeReward.id });
  if (exchanged.status !== 200) throw new Error(`exchange failed: ${JSON.stringify(exchanged.body)}`);
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await world?.stop();
});

describe('issuer pages for a marketer', () => {
  it('creates a campaign in the rules editor: refused next to the fields first, then saved', async () => {
    const context = await newContext(browser, world.system.baseUrl);
    const page = await context.newPage();
    await signIn(page, marketer);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Campaigns' }).click();
    await page.getByRole('cell', { name: /Autumn stickers/ }).waitFor();

    await page.getByRole('button', { name: 'New campaign' }).first().click();
    const form = page.getByRole('form', { name: 'New campaign' });
    await form.getByLabel('Name').fill('Winter stickers');
    await form.getByLabel('Description', { exact: true }).fill('Stickers for the winter holidays.');
    await form.getByLabel('Starts', { exact: true }).fill(localDay(-1));
    await form.getByLabel('Ends', { exact: true }).fill(localDay(31));
    await form.getByLabel('Stickers burn', { exact: true }).fill(localDay(61));
    const perStep = form.getByLabel('Spend per step (RUB)');
    await perStep.fill('');
    await form.getByRole('button', { name: 'Add SKU bonus' }).click();
    const bonus = form.getByRole('group', { name: 'SKU bonus 1' });
    await bonus.getByLabel('SKU', { exact: true }).fill('BEEF-1KG');
    await bonus.getByLabel('Stickers per unit').fill('2');
    await form.getByRole('button', { name: 'Add milestone' }).click();
    await form.getByRole('group', { name: 'Milestone 1' }).getByLabel('Stickers').fill('20');
    await form.getByRole('group', { name: 'Milestone 1' }).getByLabel('Goal').fill('Baking tray');

    // 1. An obvious mistake is caught in the browser, next to its field.
    await form.getByRole('button', { name: 'Create campaign' }).click();
    expect(await messageOf(page, perStep)).toContain('Enter how much a customer spends');

    // 2. The server refuses a start in the past: its message lands next to "Starts".
    await perStep.fill('500');
    await form.getByRole('button', { name: 'Create campaign' }).click();
    const starts = form.getByLabel('Starts', { exact: true });
    expect(await messageOf(page, starts)).toContain('must not be in the past');
    await expect.poll(() => perStep.getAttribute('aria-invalid')).toBeNull();
    await screenshot(page, 'issuer-campaign-editor');

    // 3. Fixed, it saves and shows in the list.
    await starts.fill(localDay(1));
    await form.getByRole('button', { name: 'Create campaign' }).click();
    await page.getByText('Campaign “Winter stickers” created').waitFor();
    const row = page.getByRole('row', { name: /Winter stickers/ });
    await row.waitFor();
    expect(await row.textContent()).toContain('Scheduled');
    await screenshot(page, 'issuer-campaigns');

    const listed = (await api('GET', '/campaigns')).body.campaigns.find((c: { name: string }) => c.name === 'Winter stickers');
    expect(listed).toMatchObject({ status: 'scheduled', description: 'Stickers for the winter holidays.', milestones: [{ stickers: 20, label: 'Baking tray' }] });
    expect(listed.ruleVersions[0].rules).toMatchObject({ perAmountMinor: 50_000, stickersPerStep: 1, holdDays: 14, skuBonuses: [{ sku: 'BEEF-1KG', stickersPerUnit: 2, maxPerReceipt: null }] });

    // The running campaign gets a second rules version, from the next hour on.
    await page.getByRole('row', { name: /Autumn stickers/ }).click();
    await page.getByRole('heading', { name: 'Accrual rules versions' }).waitFor();
    expect(await page.getByLabel('Starts', { exact: true }).isDisabled()).toBe(true);
    await page.getByRole('button', { name: 'Schedule new rules' }).click();
    const schedule = dialogTitled(page, 'Schedule new rules');
    await schedule.getByLabel('Stickers per step').fill('2');
    await schedule.getByRole('button', { name: 'Schedule rules' }).click();
    await page.getByText('New rules scheduled').waitFor();
    await expect.poll(() => page.getByRole('row', { name: /2 stickers per RUB 500\.00/ }).textContent()).toContain('Scheduled');
    const autumn = (await api('GET', `/campaigns/${world.campaignId}`)).body;
    expect(autumn.ruleVersions.map((v: { rules: { stickersPerStep: number } }) => v.rules.stickersPerStep)).toEqual([1, 2]);
    await context.close();
  });

  it("lists a partner's offer as a reward under the agreement, with its stock kept live", async () => {
    const context = await newContext(browser, world.system.baseUrl);
    const page = await context.newPage();
    await signIn(page, marketer);
    await page.goto('/portal/rewards');
    const knifeRow = page.getByRole('row', { name: /Knife set voucher/ });
    await knifeRow.waitFor();
    await expect.poll(() => knifeRow.textContent()).toContain('2 codes');

    await page.getByRole('button', { name: 'New reward' }).first().click();
    const dialog = dialogTitled(page, 'New reward');
    await dialog.getByLabel('Title').fill('Frying pan voucher');
    await dialog.getByLabel('Agreement').selectOption(agreement.id);
    const offer = dialog.getByLabel('Partner offer');
    await expect.poll(() => offer.isEnabled()).toBe(true);
    await offer.selectOption(pans.id);
    await dialog.getByLabel('Campaign').selectOption(world.campaignId);
    await dialog.getByLabel('Price (stickers)').fill('15');
    await dialog.getByLabel('Limit per customer').fill('2');
    await dialog.getByRole('button', { name: 'Add to catalog' }).click();
    await page.getByText('“Frying pan voucher” added to the catalog').waitFor();

    const panRow = page.getByRole('row', { name: /Frying pan voucher/ });
    await expect.poll(() => panRow.textContent()).toContain('12 codes');
    expect(await panRow.textContent()).toContain('15 stickers');
    await screenshot(page, 'issuer-rewards');

    const reward = (await api('GET', '/rewards')).body.rewards.find((r: { title: string }) => r.title === 'Frying pan voucher');
    expect(reward).toMatchObject({ agreementId: agreement.id, offerId: pans.id, campaignId: world.campaignId, stickerCost: 15, status: 'active', limits: { perCustomer: 2, perPeriod: null } });

    // Someone exchanges one at a till: the open page shows the stock drop without a reload.
    expect((await exchange(world, { customer: { customerId: otherCustomerId }, rewardId: reward.id })).status).toBe(200);
    await expect.poll(() => panRow.textContent(), { timeout: 20_000, interval: 500 }).toContain('11 codes');
    await context.close();
  });

  it("looks a customer up by card, and cancels a voucher: the stickers go back on the balance", async () => {
    const context = await newContext(browser, world.system.baseUrl);
    const page = await context.newPage();
    await signIn(page, marketer);
    await page.goto('/portal/customers');
    await page.getByLabel('Card number').fill('no such card!');
    await page.getByRole('button', { name: 'Find' }).click();
    expect(await messageOf(page, page.getByLabel('Card number'))).toContain('letters, digits or hyphens');
    await page.getByLabel('Card number').fill('0000-0000');
    await page.getByRole('button', { name: 'Find' }).click();
    expect(await messageOf(page, page.getByLabel('Card number'))).toContain('No customer with this card number');

    await page.getByLabel('Card number').fill(cardNumber);
    await page.getByRole('button', { name: 'Find' }).click();
    await expect.poll(() => statValue(page, 'Available stickers').textContent()).toBe('30');
    const voucherRow = page.getByRole('row', { name: /Knife set discount/ });
    await voucherRow.waitFor();
    expect(await voucherRow.textContent()).toContain('Issued');
    await page.getByRole('row', { name: /exchanged for voucher/ }).waitFor();
    await screenshot(page, 'issuer-customer');

    await voucherRow.getByRole('button', { name: /Cancel voucher/ }).click();
    const confirm = dialogTitled(page, 'Cancel this voucher?');
    expect(await confirm.textContent()).toContain('10 stickers go back');
    await confirm.getByRole('button', { name: 'Cancel voucher and refund' }).click();
    expect(await messageOf(page, confirm.getByLabel('Reason'))).toContain('Say why');
    await confirm.getByLabel('Reason').fill('Customer changed their mind');
    await confirm.getByRole('button', { name: 'Cancel voucher and refund' }).click();
    await page.getByText('Voucher cancelled: 10 stickers back on the balance').waitFor();

    await expect.poll(() => statValue(page, 'Available stickers').textContent()).toBe('40');
    await expect.poll(() => voucherRow.textContent()).toContain('Cancelled');
    await page.getByRole('row', { name: /given back: voucher .* cancelled/ }).waitFor();
    expect((await api('GET', `/customers/${customerId}/balance`)).body.available).toBe(40);
    await context.close();
  });

  it('fits a tablet (820 px): narrow tables drop their secondary columns', async () => {
    const context = await newContext(browser, world.system.baseUrl, 820);
    const page = await context.newPage();
    // At tablet width the user menu folds behind "Menu", so signIn()'s wait for "Sign out" does not apply.
    await page.goto('/portal/sign-in');
    await page.getByLabel('Email').fill(marketer.email);
    await page.getByLabel('Password').fill(marketer.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Menu' }).waitFor();
    await page.goto('/portal/rewards');
    await page.getByRole('row', { name: /Frying pan voucher/ }).waitFor();
    expect(await page.getByRole('columnheader', { name: 'Limits' }).isVisible()).toBe(false);
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(820);
    await screenshot(page, 'issuer-rewards-tablet');
    await page.goto(`/portal/customers?customer=${customerId}`);
    await expect.poll(() => statValue(page, 'Available stickers').textContent()).toBe('40');
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(820);
    await screenshot(page, 'issuer-customer-tablet');
    await context.close();
  });
});
