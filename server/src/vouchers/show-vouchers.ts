import type { TenantHandle } from '../auth/principal.ts';
import { coalitionDb, type Database } from '../db/database.ts';
import { tenantSchemaName } from '../db/schema-names.ts';
import { AppError } from '../errors/app-error.ts';
import { revealCodes } from '../pools/issued-codes.ts';
import type { Secrets } from '../secrets/secrets.ts';
import { voucherQrText } from './qr-text.ts';
import { keyOfVoucher } from './signing-keys.ts';
import { toVoucher, voucherTermsOf, type Voucher, type VoucherWithSlugs } from './voucher.ts';
import { findVoucherOfIssuer, listVouchersOfCustomer, type VoucherListStatus } from './voucher.queries.ts';
import { signVoucher } from './voucher-token.ts';

export interface VoucherReader {
  db: Database;
  secrets: Secrets;
  tenant: TenantHandle;
  now: Date;
}

/**
 * The plain code and its signed forms for a voucher, signed again with the key that
 * signed it first: the same token, byte for byte (unless that key has been revoked
 * since: see keyOfVoucher).
 */
export async function voucherSecrets(db: Database, secrets: Secrets, row: VoucherWithSlugs, code: string, now: Date): Promise<{ code: string; token: string; qrText: string }> {
  const key = await keyOfVoucher(db, secrets, row, now);
  const token = await signVoucher(
    { id: row.id, issuerSlug: row.issuer_slug, partnerSlug: row.partner_slug, offerId: row.offer_id, terms: voucherTermsOf(row), code, issuedAt: row.issued_at, expiresAt: row.expires_at },
    key,
  );
  return { code, token, qrText: voucherQrText(token) };
}

/**
 * Vouchers as the customer's app shows them: with the plain code (decrypted from the
 * partner's pool) and the signed forms, except for cancelled vouchers, whose code may
 * have gone to someone else.
 */
export async function showVouchers(reader: Pick<VoucherReader, 'db' | 'secrets' | 'now'>, rows: readonly VoucherWithSlugs[]): Promise<Voucher[]> {
  const live = rows.filter((row) => row.status !== 'cancelled');
  const codes = new Map<string, string>();
  const byPartner = new Map<string, VoucherWithSlugs[]>();
  for (const row of live) byPartner.set(row.partner_tenant_id, [...(byPartner.get(row.partner_tenant_id) ?? []), row]);
  for (const [partnerTenantId, partnerRows] of byPartner) {
    const owner = { tenantId: partnerTenantId, schema: tenantSchemaName(partnerRows[0]!.partner_slug) };
    const revealed = await revealCodes(reader.db, owner, reader.secrets, partnerRows.map((row) => row.code_id));
    for (const row of partnerRows) codes.set(row.id, revealed.get(row.code_id)!);
  }
  return Promise.all(rows.map(async (row) => toVoucher(row, reader.now, codes.has(row.id) ? await voucherSecrets(reader.db, reader.secrets, row, codes.get(row.id)!, reader.now) : null)));
}

export async function requireVoucher(db: Database, tenant: TenantHandle, id: string, options: { forUpdate?: boolean } = {}): Promise<VoucherWithSlugs> {
  const row = await findVoucherOfIssuer(coalitionDb(db), tenant.id, id, options);
  if (!row) throw new AppError('VOUCHER_NOT_FOUND', `No voucher ${id} was issued by ${tenant.slug}.`, { voucherId: id });
  return row;
}

export async function getVoucher(reader: VoucherReader, id: string): Promise<Voucher> {
  const [voucher] = await showVouchers(reader, [await requireVoucher(reader.db, reader.tenant, id)]);
  return voucher!;
}

export async function listCustomerVouchers(
  reader: VoucherReader,
  customerId: string,
  options: { status?: VoucherListStatus | undefined; limit: number; cursor?: string | undefined },
): Promise<{ vouchers: Voucher[]; nextCursor: string | null }> {
  const rows = await listVouchersOfCustomer(coalitionDb(reader.db), { issuerTenantId: reader.tenant.id, customerId, ...options, limit: options.limit + 1, now: reader.now });
  const page = rows.slice(0, options.limit);
  return { vouchers: await showVouchers(reader, page), nextCursor: rows.length > options.limit ? page.at(-1)!.id : null };
}
