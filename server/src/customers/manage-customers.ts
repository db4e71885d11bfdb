import type { TenantHandle } from '../auth/principal.ts';
import { AppError } from '../errors/app-error.ts';
import { insertAuditEvent } from '../tenants/audit.queries.ts';
import { validationError } from '../errors/validation.ts';
import { getIssuerSettings } from '../issuer-settings/issuer-settings.ts';
import type { Secrets } from '../secrets/secrets.ts';
import { toCustomer, type Customer, type CustomerRef } from './customer.ts';
import { findCustomer, insertCustomerIfAbsent, updateCustomer, type CustomerRow } from './customer.queries.ts';
import { customerKeyOf, customerNotFound, newCustomerId, type CustomerKey } from './identify-customer.ts';

interface Context {
  tenant: TenantHandle;
  secrets: Secrets;
}

async function keysOf(context: Context, identities: { cardNumber?: string | undefined; phone?: string | undefined }): Promise<CustomerKey> {
  const { phoneRegion } = await getIssuerSettings(context.tenant.db);
  const key: CustomerKey = {};
  if (identities.cardNumber !== undefined) Object.assign(key, customerKeyOf({ cardNumber: identities.cardNumber }, { ...context, phoneRegion }));
  if (identities.phone !== undefined) Object.assign(key, customerKeyOf({ phone: identities.phone }, { ...context, phoneRegion }));
  return key;
}

async function assertIdentitiesFree(context: Context, key: CustomerKey, ownerId?: string): Promise<void> {
  if (key.cardNumber !== undefined) {
    const holder = await findCustomer(context.tenant.db, { cardNumber: key.cardNumber });
    if (holder && holder.id !== ownerId) throw new AppError('CARD_ALREADY_REGISTERED', 'This card number already belongs to another customer.', { cardNumber: key.cardNumber });
  }
  if (key.phoneHash !== undefined) {
    const holder = await findCustomer(context.tenant.db, { phoneHash: key.phoneHash });
    if (holder && holder.id !== ownerId) throw new AppError('PHONE_ALREADY_REGISTERED', 'This phone number already belongs to another customer.', { phoneHint: `…${key.phoneHint}` });
  }
}

/** Enrols a customer with a card, a phone, or both. */
export async function enrolCustomer(context: Context, identities: { cardNumber?: string | undefined; phone?: string | undefined }, via: string): Promise<Customer> {
  if (identities.cardNumber === undefined && identities.phone === undefined) throw validationError([{ path: [], message: 'give a cardNumber, a phone, or both' }]);
  const key = await keysOf(context, identities);
  await assertIdentitiesFree(context, key);
  const row = await insertCustomerIfAbsent(context.tenant.db, {
    id: newCustomerId(),
    card_number: key.cardNumber ?? null,
    phone_hash: key.phoneHash ?? null,
    phone_hint: key.phoneHint ?? null,
    enrolled_via: via,
  });
  // Lost a race with another enrolment of the same card or phone.
  if (!row) return enrolCustomer(context, identities, via);
  return toCustomer(row);
}

/** Attaches a card or a phone to an existing customer (replacing one of the same kind). */
export async function attachIdentity(context: Context, customerId: string, identities: { cardNumber?: string | undefined; phone?: string | undefined }): Promise<Customer> {
  const key = await keysOf(context, identities);
  const customer = await requireCustomer(context.tenant, customerId);
  await assertIdentitiesFree(context, key, customer.id);
  try {
    const updated = await updateCustomer(context.tenant.db, customer.id, {
      ...(key.cardNumber !== undefined && { card_number: key.cardNumber }),
      ...(key.phoneHash !== undefined && { phone_hash: key.phoneHash, phone_hint: key.phoneHint ?? null }),
    });
    return toCustomer(updated ?? customer);
  } catch (error) {
    if ((error as { code?: string }).code === '23505') return attachIdentity(context, customerId, identities);
    throw error;
  }
}

export async function lookUpCustomer(context: Context, ref: CustomerRef): Promise<Customer> {
  const { phoneRegion } = await getIssuerSettings(context.tenant.db);
  const key = customerKeyOf(ref, { ...context, phoneRegion });
  const row = await findCustomer(context.tenant.db, key);
  if (!row) throw customerNotFound(key);
  return toCustomer(row);
}

export async function requireCustomer(tenant: TenantHandle, customerId: string): Promise<CustomerRow> {
  const row = await findCustomer(tenant.db, { id: customerId });
  if (!row) throw customerNotFound({ id: customerId });
  return row;
}

export async function setCustomerBlocked(context: { tenant: TenantHandle; actor: string }, customerId: string, block: { reason: string } | null, now: Date): Promise<Customer> {
  return context.tenant.db.transaction().execute(async (trx) => {
    const existing = await findCustomer(trx, { id: customerId }, { forUpdate: true });
    if (!existing) throw customerNotFound({ id: customerId });
    const row = await updateCustomer(trx, customerId, block ? { blocked_at: now, blocked_reason: block.reason } : { blocked_at: null, blocked_reason: null });
    await insertAuditEvent(trx, { actor: context.actor, action: block ? 'customer.blocked' : 'customer.unblocked', subjectType: 'customer', subjectId: customerId, details: block ?? {} });
    return toCustomer(row!);
  });
}
