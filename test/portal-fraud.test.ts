import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCREENSHOT_DIR, createPortalUser, launchBrowser, newContext, screenshot, signIn } from './support/browser.ts';
import { startExchangeWorld, type ExchangeWorld } from './support/exchange.ts';
import { uniqueSlug } from './support/factories.ts';
import { request } from './support/http-client.ts';
import { purchaseBody, recordPurchase } from './support/issuer.ts';

/**
 * The fraud reviewer in the portal: cards that ring up too many receipts in a day have
 * their stickers held by velocity.daily_purchases (seeded through the POS API); the
 * reviewer finds the cases in the queue, reads the evidence, and releases one card's
 * held stickers, reverses another's and blocks a third card, each checked through the
 * API. An admin tunes the rule on the rules page (refused out of range first) and
 * resets it, the reviewer sees the rules read only, a flagged case (nothing held) is
 * dismissed, and the case page and the queue fit a tablet.
 */
const RULE_ID = 'velocity.daily_purchases';
const RULE_TITLE = 'Many purchases on one card in a day';

interface SeededCard {
  cardNumber: string;
  customerId: string;
  caseId: string;
  receiptIds: string[];
  heldReceiptIds: string[];
}

let world: ExchangeWorld;
let browser: Browser;
let reviewer: { id: string; email: string; password: string };
let admin: { id: string; email: string; password: string };
let released: SeededCard;
let reversed: SeededCard;
let blocked: SeededCard;

const api = (method: string, path: string, body?: unknown) => request(world.system.baseUrl, method, `/api/v1${path}`, { key: world.issuer.key, ...(body !== undefined && { body }) });

/**
 * A card's receipts of one day through the till API: the first enrols the card (never
 * judged), and with the rule lowered to 2 a day every receipt from the third on is held.
 */
async function cardWithHeldReceipts(cardNumber: string, receipts: number): Promise<SeededCard> {
  const seeded: SeededCard = { cardNumber, customerId: '', caseId: '', receiptIds: [], heldReceiptIds: [] };
  for (let i = 0; i < receipts; i++) {
    const body = purchaseBody(world.clock.now(), { customer: { cardNumber } });
    const res = await recordPurchase(world.system.baseUrl, world.issuer.key, body);
    if (res.status !== 200) throw new Error(`purchase refused: ${res.status} ${JSON.stringify(res.body)}`);
    seeded.customerId = res.body.customerId;
    seeded.receiptIds.push(body.receiptId);
    if (res.body.review) {
      expect(res.body.review).toMatchObject({ action: 'hold', held: true });
      seeded.caseId = res.body.review.caseId;
      seeded.heldReceiptIds.push(body.receiptId);
    }
  }
  if (!seeded.caseId) throw new Error(`no receipt of ${cardNumber} was held`);
  return seeded;
}

/** The message shown next to a field: the element its aria-describedby names. */
async function messageOf(page: Page, field: Locator): Promise<string> {
  await expect.poll(() => field.getAttribute('aria-invalid')).toBe('true');
  const id = await field.getAttribute('aria-describedby');
  return (await page.locator(`[id="${id}"]`).textContent()) ?? '';
}

/** An open dialog, by its heading (the native <dialog> carries no accessible name of its own). */
const dialogTitled = (page: Page, title: string) => page.getByRole('dialog').filter({ has: page.getByRole('heading', { name: title, exact: true }) });

/** Opens the review queue from the sidebar. */
async function openQueue(page: Page): Promise<void> {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Fraud review' }).click();
  await page.getByRole('heading', { name: 'Fraud review', level: 1 }).waitFor();
}

/** Decides the open case through its dialog: refused without a reason first, then with one. */
async function decide(page: Page, button: string, title: string, confirm: string, reason: string): Promise<void> {
  await page.getByRole('button', { name: button }).click();
  const dialog = dialogTitled(page, title);
  await dialog.getByRole('button', { name: confirm }).click();
  expect(await messageOf(page, dialog.getByLabel('Reason'))).toContain('Say why');
  await dialog.getByLabel('Reason').fill(reason);
  await dialog.getByRole('button', { name: confirm }).click();
}

const sum = (moves: { stickers: number }[]) => moves.reduce((total, move) => total + move.stickers, 0);

beforeAll(async () => {
  // The server's clock starts at the real time (sessions and the dates shown agree with it) and stays there:
  // every receipt below falls on the same day in the issuer's time zone.
  world = await startExchangeWorld({ start: new Date().toISOString() });
  browser = await launchBrowser();
  reviewer = await createPortalUser(world.system.services, { tenantSlug: world.issuer.tenant.slug, email: `rita-${uniqueSlug('r')}@grocer.example`, roles: ['fraud_reviewer'], displayName: 'Rita Reviewer' });
  admin = await createPortalUser(world.system.services, { tenantSlug: world.issuer.tenant.slug, email: `adam-${uniqueSlug('a')}@grocer.example`, roles: ['admin'], displayName: 'Adam Admin' });

  // More than 2 receipts a day on one card are held (the default is 6), to keep the day short.
  const lowered = await api('PATCH', `/fraud/rules/${RULE_ID}`, { params: { maxPurchases: 2 } });
  expect(lowered.status).toBe(200);
  expect(lowered.body).toMatchObject({ action: 'hold', customized: true });

  const stamp = String(Date.now()).slice(-7);
  released = await cardWithHeldReceipts(`FR-${stamp}-1`, 4); // receipts 3 and 4 held: 4 stickers
  reversed = await cardWithHeldReceipts(`FR-${stamp}-2`, 3); // receipt 3 held: 2 stickers
  blocked = await cardWithHeldReceipts(`FR-${stamp}-3`, 3); // receipt 3 held: 2 stickers
  expect(released.heldReceiptIds).toEqual(released.receiptIds.slice(2));
  expect((await api('GET', `/customers/${released.customerId}/balance`)).body.heldForReview).toBe(4);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await world?.stop();
});

describe('fraud review in the portal', () => {
  it('shows the open cases in the queue; a case shows its evidence and held stickers, and releasing them closes it', async () => {
    const context = await newContext(browser, world.system.baseUrl);
    const page = await context.newPage();
    await signIn(page, reviewer);
    // The dashboard's Fraud review card: 3 open cases, all holding stickers (4 + 2 + 2).
    await expect.poll(() => page.getByRole('link', { name: /Open cases/ }).textContent()).toMatch(/^Open cases3oldest opened /);
    await expect.poll(() => page.getByRole('link', { name: /Holding stickers/ }).textContent()).toBe('Holding stickers38 stickers wait for a decision');
    await openQueue(page);
    await expect.poll(() => page.getByTestId('open-count').textContent()).toBe('3');

    const row = page.getByRole('row', { name: new RegExp(released.cardNumber) });
    await row.waitFor();
    const rowText = (await row.textContent()) ?? '';
    expect(rowText).toContain(RULE_TITLE);
    expect(rowText).toContain('Held');
    expect(rowText).toContain('Open');
    expect(rowText).toContain('4 receipts on this card');
    for (const card of [reversed, blocked]) await page.getByRole('row', { name: new RegExp(card.cardNumber) }).waitFor();
    await screenshot(page, 'fraud-queue');

    // Filters: no case was only flagged; the held ones come back with "Held".
    await page.getByLabel('Action').selectOption('flag');
    await page.getByRole('heading', { name: 'No case matches' }).waitFor();
    await page.getByLabel('Action').selectOption('hold');
    await row.click();

    await page.getByRole('heading', { name: new RegExp(RULE_TITLE), level: 1 }).waitFor();
    await page.getByRole('heading', { name: 'Hits (2)' }).waitFor();
    // The second hit's evidence: the day's four receipts, this one and the held ones marked.
    const receipts = page.getByRole('listitem', { name: 'Hit 2' }).getByRole('table', { name: 'Receipts' });
    await receipts.waitFor();
    for (const receiptId of released.receiptIds) expect(await receipts.getByRole('row', { name: new RegExp(receiptId) }).count()).toBe(1);
    expect(await receipts.getByRole('row').count()).toBe(1 + 4);
    expect(await receipts.getByRole('row', { name: /held/i }).count()).toBe(2);
    expect(await receipts.getByRole('row', { name: new RegExp(released.receiptIds[3]!) }).textContent()).toContain('This receipt');
    // What a decision would move now: 2 stickers on each held receipt.
    const stillHeld = page.getByRole('table', { name: 'Stickers still held' });
    for (const receiptId of released.heldReceiptIds) expect(await stillHeld.getByRole('row', { name: new RegExp(receiptId) }).textContent()).toContain('Autumn stickers');
    expect(await stillHeld.getByRole('row', { name: /Total/ }).textContent()).toContain('4');
    expect(await page.getByRole('link', { name: /Open the customer/ }).getAttribute('href')).toBe(`/portal/customers?customer=${released.customerId}`);
    await screenshot(page, 'fraud-case');

    await decide(page, 'Release held stickers…', 'Release the held stickers?', 'Release stickers', 'Family card: receipts checked with the store manager');
    await page.getByText('Released: 4 stickers back on their normal schedule', { exact: true }).waitFor();
    await page.getByText(/Released by Rita Reviewer/).waitFor();
    await page.getByText('Family card: receipts checked with the store manager').waitFor();
    expect(await page.getByRole('table', { name: 'Released' }).getByRole('row', { name: /Total/ }).textContent()).toContain('4');
    expect(await page.getByRole('button', { name: /Release held stickers|Dismiss/ }).count()).toBe(0);

    // Through the API: nothing held any more, the stickers wait only for the campaign's own hold.
    const balance = (await api('GET', `/customers/${released.customerId}/balance`)).body;
    expect(balance.heldForReview).toBe(0);
    expect(balance.pendingReleases.filter((release: { heldForReview: boolean }) => release.heldForReview)).toEqual([]);
    expect(balance.pending).toBe(8);
    const decided = (await api('GET', `/fraud/cases/${released.caseId}`)).body;
    expect(decided).toMatchObject({ status: 'closed', stillHeld: [], decision: { decision: 'released', by: reviewer.id, reason: 'Family card: receipts checked with the store manager' } });
    expect(decided.decision.byName).toContain('Rita Reviewer');
    expect(sum(decided.decision.released)).toBe(4);
    await context.close();
  });

  it("reverses a second card's held stickers", async () => {
    const context = await newContext(browser, world.system.baseUrl);
    const page = await context.newPage();
    await signIn(page, reviewer);
    await openQueue(page);
    await expect.poll(() => page.getByTestId('open-count').textContent()).toBe('2');
    await page.getByRole('row', { name: new RegExp(reversed.cardNumber) }).click();
    const stillHeld = page.getByRole('table', { name: 'Stickers still held' });
    expect(await stillHeld.getByRole('row', { name: new RegExp(reversed.heldReceiptIds[0]!) }).textContent()).toMatch(/2$/);

    await decide(page, 'Reverse held stickers…', 'Reverse the held stickers?', 'Reverse stickers', 'Receipts rung up for other customers');
    await page.getByText('Reversed: 2 held stickers taken back').waitFor();
    await page.getByText(/Reversed by Rita Reviewer/).waitFor();

    const balance = (await api('GET', `/customers/${reversed.customerId}/balance`)).body;
    expect(balance).toMatchObject({ heldForReview: 0, pending: 4 });
    const decided = (await api('GET', `/fraud/cases/${reversed.caseId}`)).body;
    expect(decided).toMatchObject({ status: 'closed', decision: { decision: 'reversed', by: reviewer.id, released: [] } });
    expect(sum(decided.decision.reversed)).toBe(2);
    await context.close();
  });

  it('blocks a third card; the queue is then empty, and the closed cases keep their decisions', async () => {
    const context = await newContext(browser, world.system.baseUrl);
    const page = await context.newPage();
    await signIn(page, reviewer);
    await openQueue(page);
    await page.getByRole('row', { name: new RegExp(blocked.cardNumber) }).click();
    await page.getByRole('heading', { name: new RegExp(`Card ${blocked.cardNumber}`) }).waitFor();

    await decide(page, 'Block card…', 'Block this card?', 'Block card', "Cashier's own card, confirmed on camera");
    await page.getByText(`Card ${blocked.cardNumber} blocked: 2 held stickers taken back`).waitFor();
    await page.getByText(/Card blocked by Rita Reviewer/).waitFor();
    expect(await page.getByRole('button', { name: 'Block card…' }).count()).toBe(0);
    await expect.poll(() => page.getByRole('heading', { name: new RegExp(`Card ${blocked.cardNumber}`) }).textContent()).toContain('Blocked');

    const customer = (await api('GET', `/customers/${blocked.customerId}`)).body;
    expect(customer.blocked).toBe(true);
    const refused = await recordPurchase(world.system.baseUrl, world.issuer.key, purchaseBody(world.clock.now(), { customer: { cardNumber: blocked.cardNumber } }));
    expect(refused.body.code).toBe('CUSTOMER_BLOCKED');
    const balance = (await api('GET', `/customers/${blocked.customerId}/balance`)).body;
    expect(balance).toMatchObject({ heldForReview: 0, pending: 4 });
    const decided = (await api('GET', `/fraud/cases/${blocked.caseId}`)).body;
    expect(decided).toMatchObject({ status: 'closed', customer: { blocked: true }, decision: { decision: 'card_blocked', by: reviewer.id } });
    expect(sum(decided.decision.reversed)).toBe(2);

    await page.getByRole('link', { name: '← Fraud review' }).click();
    await page.getByRole('heading', { name: 'No open cases' }).waitFor();
    expect(await page.getByTestId('open-count').textContent()).toBe('0');
    await page.getByLabel('Status').selectOption('closed');
    for (const [card, decision] of [
      [released, 'Released'],
      [reversed, 'Reversed'],
      [blocked, 'Card blocked'],
    ] as const) {
      expect(await page.getByRole('row', { name: new RegExp(card.cardNumber) }).textContent()).toContain(decision);
    }
    await context.close();
  });

  it("lets an admin change the rule's threshold, refused out of range next to the field first", async () => {
    const context = await newContext(browser, world.system.baseUrl);
    const page = await context.newPage();
    await signIn(page, admin);
    await openQueue(page);
    await page.getByRole('tab', { name: 'Rules' }).click();
    const form = page.getByRole('form', { name: RULE_TITLE });
    const threshold = form.getByLabel('Max purchases');
    await expect.poll(() => threshold.inputValue()).toBe('2');
    expect(await form.textContent()).toMatch(/Default 6; 1 to 1\D?000/);

    await threshold.fill('5000');
    await form.getByRole('button', { name: 'Save' }).click();
    expect(await messageOf(page, threshold)).toContain('must be between 1 and 1000');
    // The page is long (every rule): the guide shows the screen around the refused field.
    await form.evaluate((element) => element.scrollIntoView({ block: 'center' }));
    await page.screenshot({ path: `${SCREENSHOT_DIR}fraud-rules-error.png` });
    expect((await api('GET', '/fraud/rules')).body.rules.find((rule: { id: string }) => rule.id === RULE_ID).params[0].value).toBe(2);

    await threshold.fill('8');
    await form.getByLabel('Action').selectOption('flag');
    await form.getByRole('button', { name: 'Save' }).click();
    await page.getByText(`“${RULE_TITLE}” saved`).waitFor();
    await expect.poll(() => threshold.getAttribute('aria-invalid')).toBeNull();
    await screenshot(page, 'fraud-rules');

    const rule = (await api('GET', '/fraud/rules')).body.rules.find((candidate: { id: string }) => candidate.id === RULE_ID);
    expect(rule).toMatchObject({ action: 'flag', customized: true, updatedBy: admin.id, params: [{ name: 'maxPurchases', value: 8, default: 6 }] });
    await context.close();
  });

  it('shows a fraud reviewer the rules read only', async () => {
    const context = await newContext(browser, world.system.baseUrl);
    const page = await context.newPage();
    await signIn(page, reviewer);
    await page.goto('/portal/fraud/rules');
    await page.getByText('Read only').waitFor();
    const card = page.locator('.card', { has: page.getByRole('heading', { name: RULE_TITLE }) });
    await card.waitFor();
    const text = (await card.textContent()) ?? '';
    expect(text).toContain('Flag for review');
    expect(text).toMatch(/Max purchases\s*8/);
    expect(text).toContain('Customized');
    expect(await page.getByRole('spinbutton').count()).toBe(0);
    expect(await page.getByRole('combobox').count()).toBe(0);
    expect(await page.getByRole('button', { name: /Save|Reset to defaults/ }).count()).toBe(0);
    await screenshot(page, 'fraud-rules-read-only');
    await context.close();
  });

  it('lets the admin reset the rule to its defaults', async () => {
    const context = await newContext(browser, world.system.baseUrl);
    const page = await context.newPage();
    await signIn(page, admin);
    await page.goto('/portal/fraud/rules');
    const form = page.getByRole('form', { name: RULE_TITLE });
    await form.getByRole('button', { name: 'Reset to defaults…' }).click();
    const dialog = dialogTitled(page, 'Reset to the defaults?');
    expect(await dialog.textContent()).toContain('max purchases 6');
    await dialog.getByRole('button', { name: 'Reset rule' }).click();
    await page.getByText(`“${RULE_TITLE}” is back on its defaults`).waitFor();
    await expect.poll(() => form.getByLabel('Max purchases').inputValue()).toBe('6');
    const rule = (await api('GET', '/fraud/rules')).body.rules.find((candidate: { id: string }) => candidate.id === RULE_ID);
    expect(rule).toMatchObject({ action: 'hold', customized: false, params: [{ value: 6 }] });
    await context.close();
  });

  it('dismisses a flagged case, where nothing is held: only block and dismiss are offered', async () => {
    // One card at two stores within minutes: velocity.store_hop flags the second receipt (its default).
    const cardNumber = `FR-${String(Date.now()).slice(-7)}-4`;
    const first = purchaseBody(world.clock.now(), { customer: { cardNumber }, storeCode: 'MSK-001' });
    const second = purchaseBody(world.clock.now(), { customer: { cardNumber }, storeCode: 'MSK-002' });
    expect((await recordPurchase(world.system.baseUrl, world.issuer.key, first)).status).toBe(200);
    const flagged = await recordPurchase(world.system.baseUrl, world.issuer.key, second);
    expect(flagged.body.review).toMatchObject({ action: 'flag', held: false });

    const context = await newContext(browser, world.system.baseUrl);
    const page = await context.newPage();
    await signIn(page, reviewer);
    await openQueue(page);
    const row = page.getByRole('row', { name: new RegExp(cardNumber) });
    expect(await row.textContent()).toContain('Flagged');
    await row.click();
    await page.getByRole('heading', { name: /One card in two stores at once/, level: 1 }).waitFor();
    const otherStores = page.getByRole('table', { name: 'Receipts at other stores' });
    expect(await otherStores.getByRole('row', { name: new RegExp(first.receiptId) }).textContent()).toContain('MSK-001');
    await page.getByText('Nothing is held: the rule flagged the request and let it through.').waitFor();
    expect(await page.getByRole('button', { name: /Release held stickers|Reverse held stickers/ }).count()).toBe(0);
    await page.getByRole('button', { name: 'Block card…' }).waitFor();

    await decide(page, 'Dismiss…', 'Dismiss this case?', 'Dismiss case', 'Customer drove between two stores in the same mall');
    await page.getByText('Case dismissed', { exact: true }).waitFor();
    await page.getByText(/Dismissed by Rita Reviewer/).waitFor();
    await page.getByText('No stickers moved: the case held none when it was decided.').waitFor();
    const decided = (await api('GET', `/fraud/cases/${flagged.body.review.caseId}`)).body;
    expect(decided).toMatchObject({ status: 'closed', action: 'flag', decision: { decision: 'dismissed', by: reviewer.id, released: [], reversed: [] } });
    expect((await api('GET', `/customers/${flagged.body.customerId}`)).body.blocked).toBe(false);
    await context.close();
  });

  it('fits a tablet (820 px): the case and the queue without sideways scrolling', async () => {
    const context = await newContext(browser, world.system.baseUrl, 820);
    const page = await context.newPage();
    // At tablet width the user menu folds behind "Menu", so signIn()'s wait for "Sign out" does not apply.
    await page.goto('/portal/sign-in');
    await page.getByLabel('Email').fill(reviewer.email);
    await page.getByLabel('Password').fill(reviewer.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Menu' }).waitFor();

    await page.goto(`/portal/fraud/cases/${released.caseId}`);
    await page.getByText(/Released by Rita Reviewer/).waitFor();
    await page.getByRole('table', { name: 'Receipts' }).first().waitFor();
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(820);
    await screenshot(page, 'fraud-case-tablet');

    await page.goto('/portal/fraud?status=any');
    await page.getByRole('row', { name: new RegExp(released.cardNumber) }).waitFor();
    expect(await page.getByRole('columnheader', { name: 'Held', exact: true }).isVisible()).toBe(false);
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(820);
    await context.close();
  });
});
