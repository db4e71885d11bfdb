import { customAlphabet } from 'nanoid';
import type { TenantHandle } from '../auth/principal.ts';
import type { TenantDb } from '../db/database.ts';
import { AppError } from '../errors/app-error.ts';
import { validationError } from '../errors/validation.ts';
import type { Secrets } from '../secrets/secrets.ts';
import type { CustomerRef } from './customer.ts';
import { findCustomer, insertCustomerIfAbsent, type CustomerRow } from './customer.queries.ts';
import { normalisePhone } from './phone.ts';

export const newCustomerId = (() => {
  const id = customAlphabet('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz', 16);
  return () => `cus_${id()}`;
})();

export interface CustomerKey {
  cardNumber?: string;
  phoneHash?: string;
  phoneHint?: string;
}

/**
 * Turns a card number or a phone (as typed) into the lookup key we store: phones are
 * normalised to E.164 and replaced by a keyed hash scoped to this tenant.
 */
export function customerKeyOf(
  ref: CustomerRef,
  context: { tenant: Pick<TenantHandle, 'id'>; secrets: Secrets; phoneRegion: string | null },
  path: string[] = ['phone'],
): CustomerKey {
  if (ref.cardNumber !== undefined) return { cardNumber: ref.cardNumber };
  const phone = normalisePhone(ref.phone ?? '', context.phoneRegion);
  if (!phone) {
    throw validationError([
      {
        path,
        message: context.phoneRegion
          ? `is not a valid phone number for region ${context.phoneRegion} or in international format (+…)`
          : 'is not a valid phone number in international format (+ and country code)',
      },
    ]);
  }
  return { phoneHash: context.secrets.keyedHash(`phone:${context.tenant.id}`, phone.e164), phoneHint: phone.hint };
}

/** The customer row, locked for the rest of the transaction: the per-customer serialisation point. */
export async function lockCustomer(trx: TenantDb, key: CustomerKey | { id: string }): Promise<CustomerRow | undefined> {
  return findCustomer(trx, key, { forUpdate: true });
}

/**
 * Finds the customer a till names, enrolling a new one when the issuer allows it.
 * Two tills enrolling the same new card at once both end up with the one customer.
 */
export async function identifyOrEnrol(trx: TenantDb, key: CustomerKey, options: { autoEnrol: boolean; via: string }): Promise<{ customer: CustomerRow; enrolled: boolean }> {
  const existing = await lockCustomer(trx, key);
  if (existing) return { customer: existing, enrolled: false };
  if (!options.autoEnrol) throw customerNotFound(key);
  await insertCustomerIfAbsent(trx, {
    id: newCustomerId(),
    card_number: key.cardNumber ?? null,
    phone_hash: key.phoneHash ?? null,
    phone_hint: key.phoneHint ?? null,
    enrolled_via: options.via,
  });
  const enrolled = await lockCustomer(trx, key);
  if (!enrolled) throw customerNotFound(key);
  return { customer: enrolled, enrolled: true };
}

export function customerNotFound(key: CustomerKey | { id: string }): AppError {
  const by = 'id' in key ? { customerId: key.id } : key.cardNumber !== undefined ? { cardNumber: key.cardNumber } : { phoneHint: `…${key.phoneHint ?? ''}` };
  return new AppError('CUSTOMER_NOT_FOUND', 'No customer matches this card number, phone or id.', by);
}

export function assertNotBlocked(customer: CustomerRow): void {
  if (customer.blocked_at) {
    throw new AppError('CUSTOMER_BLOCKED', `Customer ${customer.id} is blocked${customer.blocked_reason ? `: ${customer.blocked_reason}` : ''}.`, {
      customerId: customer.id,
    });
  }
}
