/**
 * A partner shop's checkout: the shopper types a promo code (or scans the voucher QR);
 * the shop shows the discount before payment (validate) and redeems the code with the
 * order once it is paid (redeem). Run it: BASE_URL=… API_KEY=cx_live_… node --import tsx
 * client-sdk/examples/partner-checkout.ts <code> <order-ref> <amount-minor> <currency>
 *
 * In your app, import from '@coalition-exchange/client'.
 */
import { createHash } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { createClient, isCoalitionError, withIdempotencyKey, type CoalitionClient } from '../src/index.ts';

export interface Order {
  /** What the shopper entered: the promo code, or the voucher's token or QR text. */
  code: string;
  orderRef: string;
  amountMinor: number;
  currency: string;
}

export type CheckoutOutcome =
  | { status: 'redeemed'; redemptionId: string; discountMinor: number; totalToPayMinor: number }
  | { status: 'refused'; reason: string; message: string };

/** Refusals a cashier can explain to the shopper; anything else is a fault to log and retry later. */
const SHOPPER_FACING = ['ALREADY_REDEEMED', 'EXPIRED', 'VOUCHER_CANCELLED', 'MIN_ORDER_NOT_MET', 'CURRENCY_MISMATCH', 'UNKNOWN_CODE', 'NOT_ISSUED', 'WRONG_PARTNER', 'INVALID_VOUCHER', 'INVALID_CHECK_CHARACTER'] as const;

const SIGNED_VOUCHER = /^(CXV1:|eyJ[\w-]*\.[\w-]+\.[\w-]+$)/;

function codeOrVoucher(entered: string): { code: string } | { voucher: string } {
  const text = entered.trim();
  return SIGNED_VOUCHER.test(text) ? { voucher: text } : { code: text };
}

/**
 * One key per order and code: two checkout runs for the same order (a double click, a
 * rerun after our process crashed mid-call) redeem once, the second getting the first's
 * answer. Hashed, because a key must be 1-255 visible ASCII characters and order
 * numbers and scanned QR texts need not be.
 */
function checkoutKey(order: Order): string {
  return `checkout-${createHash('sha256').update(`${order.orderRef}\n${order.code.trim()}`).digest('hex')}`;
}

/** Step 1, before payment: is the code good for this order, and what does it take off? */
export async function previewDiscount(client: CoalitionClient, order: Order) {
  return client.redemptions.validate.mutate({ ...codeOrVoucher(order.code), orderAmountMinor: order.amountMinor, currency: order.currency });
}

/** Step 2, once paid: redeem, exactly once, even if this is retried after a timeout or a crash. */
export async function checkout(client: CoalitionClient, order: Order): Promise<CheckoutOutcome> {
  const redeemed = (redemption: { id: string; discountMinor: number }): CheckoutOutcome => ({
    status: 'redeemed',
    redemptionId: redemption.id,
    discountMinor: redemption.discountMinor,
    totalToPayMinor: order.amountMinor - redemption.discountMinor,
  });
  const preview = await previewDiscount(client, order);
  if (!preview.valid) {
    // Redeemed already, by this very order (an earlier run whose answer we never saw)?
    if (preview.reason === 'ALREADY_REDEEMED' && preview.redemptionId) {
      const earlier = await client.redemptions.get.query({ redemptionId: preview.redemptionId });
      if (earlier.orderRef === order.orderRef && earlier.status === 'redeemed') return redeemed(earlier);
    }
    return { status: 'refused', reason: preview.reason ?? 'INVALID', message: preview.message };
  }
  try {
    const redemption = await client.redemptions.redeem.mutate(
      { ...codeOrVoucher(order.code), orderRef: order.orderRef, orderAmountMinor: order.amountMinor, currency: order.currency },
      withIdempotencyKey(checkoutKey(order)),
    );
    return redeemed(redemption);
  } catch (error) {
    // Between validate and redeem another till may have taken the code.
    if (isCoalitionError(error, ...SHOPPER_FACING)) return { status: 'refused', reason: error.code, message: error.message };
    throw error;
  }
}

/** The order was cancelled: give the code back so it can be used again. */
export async function cancelOrder(client: CoalitionClient, redemptionId: string, reason: string) {
  return client.redemptions.reverse.mutate({ redemptionId, reason });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [code, orderRef, amount, currency = 'RUB'] = process.argv.slice(2);
  if (!code || !orderRef || !amount) throw new Error('usage: partner-checkout.ts <code> <order-ref> <amount-minor> [currency]');
  const client = createClient({ baseUrl: process.env.BASE_URL ?? 'http://127.0.0.1:3000', apiKey: process.env.API_KEY ?? '' });
  console.log(await checkout(client, { code, orderRef, amountMinor: Number(amount), currency }));
}
