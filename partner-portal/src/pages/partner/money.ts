import type { RouterOutputs } from '../../api.ts';
import { formatMoney } from '../../ui/format.ts';


export type Offer = RouterOutputs['offers']['get'];

/** "500.00 ₽ off" or "15% off". */
export function describeValue(offer: Pick<Offer, 'value' | 'currency'>): string {
  return offer.value.type === 'fixed' ? `${formatMoney(offer.value.amountMinor, offer.currency)} off` : `${offer.value.percent}% off`;
}

/** An ISO time as the value of a datetime-local input, in the browser's zone. */
export function isoToLocalInput(iso: string | null | undefined): string {
  if (!iso) return '';
  const date = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** A datetime-local value (browser's zone) as an ISO time, or null when empty. */
export function localInputToIso(value: string): string | null {
  if (!value) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}
