import { problemOf, type RouterOutputs } from '../../api.ts';
import { formatMoney } from '../../ui/format.ts';
import { currencyDigits } from '../../ui/money.ts';
import './issuer.css';

export type Campaign = RouterOutputs['campaigns']['list']['campaigns'][number];
export type Rules = Campaign['ruleVersions'][number]['rules'];
export type Reward = RouterOutputs['rewards']['list']['rewards'][number];
export type CatalogEntry = RouterOutputs['catalog']['rewards'][number];
export type OfferTerms = CatalogEntry['offer'];

// ---- money typed in major units, sent in minor units --------------------------------

export function moneyInputValue(minor: number, currency: string): string {
  const digits = currencyDigits(currency);
  return digits === 0 ? String(minor) : (minor / 10 ** digits).toFixed(digits).replace(/\.0+$/, '');
}

/** A whole number typed in a field; null when blank or not a whole number. */
export function parseWhole(text: string): number | null {
  const cleaned = text.trim();
  return /^-?\d+$/.test(cleaned) ? Number(cleaned) : null;
}

// ---- date-times in the tenant's time zone ---------------------------------------------

function zoneOffsetMs(instant: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' }).formatToParts(new Date(instant));
  const get = (type: string) => Number(parts.find((part) => part.type === type)?.value ?? 0);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour') % 24, get('minute'), get('second'));
  return asUtc - Math.floor(instant / 1000) * 1000;
}

/** A <input type="datetime-local"> value read as a wall-clock time in `timeZone` → ISO instant. */
export function zonedInputToIso(value: string, timeZone: string): string | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/.exec(value);
  if (!match) return null;
  const [, y, mo, d, h, mi] = match.map(Number) as [number, number, number, number, number, number];
  const wall = Date.UTC(y, mo - 1, d, h, mi);
  let instant = wall - zoneOffsetMs(wall, timeZone);
  // Around a DST change the offset at the guess may differ from the offset at the answer.
  instant = wall - zoneOffsetMs(instant, timeZone);
  return new Date(instant).toISOString();
}

/** An ISO instant → the wall-clock value for <input type="datetime-local"> in `timeZone`. */
export function isoToZonedInput(iso: string, timeZone: string): string {
  const instant = new Date(iso).getTime();
  const wall = new Date(instant + zoneOffsetMs(instant, timeZone));
  return wall.toISOString().slice(0, 16);
}

// ---- describing things -----------------------------------------------------------------

export function formatOfferValue(offer: Pick<OfferTerms, 'value' | 'currency'>): string {
  return offer.value.type === 'fixed' ? `${formatMoney(offer.value.amountMinor, offer.currency)} off` : `${offer.value.percent}% off`;
}

export function plural(count: number, one: string, many = `${one}s`): string {
  return `${new Intl.NumberFormat().format(count)} ${count === 1 || count === -1 ? one : many}`;
}

/** "1 sticker per 500.00 ₽ · 14-day hold" */
export function describeRules(rules: Rules, currency: string): string {
  const parts = [`${plural(rules.stickersPerStep, 'sticker')} per ${formatMoney(rules.perAmountMinor, currency)}`];
  if (rules.minTotalMinor > 0) parts.push(`from ${formatMoney(rules.minTotalMinor, currency)}`);
  if (rules.maxPerReceipt !== null) parts.push(`max ${rules.maxPerReceipt}/receipt`);
  if (rules.skuBonuses.length) parts.push(plural(rules.skuBonuses.length, 'SKU bonus', 'SKU bonuses'));
  parts.push(`${rules.holdDays}-day hold`);
  return parts.join(' · ');
}

/** The rules version in effect now (or the first one, before the start). */
export function currentRules(campaign: Campaign, now = Date.now()): Campaign['ruleVersions'][number] | undefined {
  let current = campaign.ruleVersions[0];
  for (const version of campaign.ruleVersions) if (new Date(version.effectiveFrom).getTime() <= now) current = version;
  return current;
}

/** A server refusal that is not about one field, named by its code, for a message next to the field it concerns. */
export function problemCode(error: unknown): string | null {
  return error ? problemOf(error).code : null;
}
