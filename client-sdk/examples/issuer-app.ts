/**
 * An issuer's customer app: show the customer's stickers, the rewards they can get,
 * and exchange stickers for one (a promo code and a signed voucher for the partner).
 * Run it: BASE_URL=… API_KEY=cx_live_… node --import tsx client-sdk/examples/issuer-app.ts <customer-id>
 *
 * In your app, import from '@coalition-exchange/client'.
 */
import { pathToFileURL } from 'node:url';
import { createClient, isCoalitionError, type CoalitionClient } from '../src/index.ts';

/** The customer's home screen: balance and the rewards they can exchange for now. */
export async function rewardsScreen(client: CoalitionClient, customerId: string) {
  const [balance, catalog] = await Promise.all([client.customers.balance.query({ customerId }), client.catalog.query({ customerId })]);
  const exchangeable = catalog.rewards.filter((reward) => reward.availability.exchangeable && reward.customer?.canExchange);
  return { available: balance.available, pending: balance.pending, rewards: catalog.rewards, exchangeable };
}

export type ExchangeOutcome =
  | { status: 'issued'; voucherId: string; code: string | null; qrText: string | null; stickersLeft: number }
  | { status: 'refused'; reason: string; message: string };

/**
 * The customer taps "Exchange". The client gives the call an Idempotency-Key and
 * retries it on a lost answer: the stickers are debited once.
 */
export async function exchangeForReward(client: CoalitionClient, customerId: string, rewardId: string): Promise<ExchangeOutcome> {
  try {
    const voucher = await client.exchange.mutate({ customer: { customerId }, rewardId });
    return { status: 'issued', voucherId: voucher.id, code: voucher.code, qrText: voucher.qrText, stickersLeft: voucher.stickersLeft };
  } catch (error) {
    // The catalog was read a moment ago; things change.
    if (isCoalitionError(error, 'INSUFFICIENT_STICKERS', 'POOL_EXHAUSTED', 'REWARD_UNAVAILABLE', 'AGREEMENT_CAP_REACHED', 'AGREEMENT_INACTIVE', 'LIMIT_REACHED', 'CUSTOMER_BLOCKED')) {
      return { status: 'refused', reason: error.code, message: error.message };
    }
    throw error;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [customerId] = process.argv.slice(2);
  if (!customerId) throw new Error('usage: issuer-app.ts <customer-id>');
  const client = createClient({ baseUrl: process.env.BASE_URL ?? 'http://127.0.0.1:3000', apiKey: process.env.API_KEY ?? '' });
  const screen = await rewardsScreen(client, customerId);
  console.log(`${screen.available} stickers available, ${screen.pending} pending; ${screen.exchangeable.length} rewards within reach`);
  const first = screen.exchangeable[0];
  if (first) console.log(await exchangeForReward(client, customerId, first.id));
}
