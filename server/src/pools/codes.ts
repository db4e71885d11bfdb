import { z } from 'zod';
import type { Selectable } from 'kysely';
import type { TenantHandle } from '../auth/principal.ts';
import type { CodesTable } from '../db/tables.ts';
import { AppError } from '../errors/app-error.ts';
import { humanText } from '../errors/text-schemas.ts';
import { parseInput } from '../errors/validation.ts';
import { requireOffer } from '../offers/manage-offers.ts';
import { offerIdSchema } from '../offers/offer.ts';
import type { Secrets } from '../secrets/secrets.ts';
import { insertAuditEvent } from '../tenants/audit.queries.ts';
import { batchIdSchema, codeStatusSchema } from './batch.ts';
import { CodeVault } from './code-vault.ts';
import { validAt } from './stock.ts';
import { csvQuoted } from './manage-batches.ts';

export const maskedCodeSchema = z.object({
  id: z.string(),
  mask: z.string().describe('The code with all but its last few characters hidden.'),
  offerId: z.string(),
  batchId: z.string(),
  status: codeStatusSchema,
  expiresAt: z.string().nullable(),
  issuedAt: z.string().nullable(),
  redeemedAt: z.string().nullable(),
  reservedUntil: z.string().nullable(),
  holderRef: z.string().nullable().describe('What the code was handed to (a voucher id).'),
});
export type MaskedCode = z.infer<typeof maskedCodeSchema>;

type CodeRow = Pick<Selectable<CodesTable>, 'id' | 'mask' | 'offer_id' | 'batch_id' | 'status' | 'expires_at' | 'issued_at' | 'redeemed_at' | 'reserved_until' | 'holder_ref'>;
const CODE_COLUMNS = ['id', 'mask', 'offer_id', 'batch_id', 'status', 'expires_at', 'issued_at', 'redeemed_at', 'reserved_until', 'holder_ref'] as const;

function toMaskedCode(row: CodeRow, now: Date): MaskedCode {
  const lapsed = row.status === 'available' && row.expires_at !== null && row.expires_at <= now;
  return {
    id: row.id,
    mask: row.mask,
    offerId: row.offer_id,
    batchId: row.batch_id,
    status: lapsed ? 'expired' : row.status,
    expiresAt: row.expires_at?.toISOString() ?? null,
    issuedAt: row.issued_at?.toISOString() ?? null,
    redeemedAt: row.redeemed_at?.toISOString() ?? null,
    reservedUntil: row.reserved_until?.toISOString() ?? null,
    holderRef: row.holder_ref,
  };
}

export const listCodesInputSchema = z.strictObject({
  offerId: offerIdSchema,
  batchId: batchIdSchema.optional(),
  status: codeStatusSchema.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  after: z.string().regex(/^\d{1,19}$/, 'must be a code id from the previous page').optional().describe('Return codes after this id (the last id of the previous page).'),
});

/** Codes of an offer, masked, a page at a time: the API never lists full codes. */
export async function listCodes(tenant: TenantHandle, rawInput: z.input<typeof listCodesInputSchema>, now: Date): Promise<{ codes: MaskedCode[]; next: string | null }> {
  const input = parseInput(listCodesInputSchema, rawInput);
  await requireOffer(tenant.db, input.offerId);
  let query = tenant.db.selectFrom('codes').select(CODE_COLUMNS).where('offer_id', '=', input.offerId).orderBy('id').limit(input.limit + 1);
  if (input.batchId) query = query.where('batch_id', '=', input.batchId);
  if (input.status) query = query.where('status', '=', input.status);
  if (input.after) query = query.where('id', '>', input.after);
  const rows = await query.execute();
  const page = rows.slice(0, input.limit);
  return { codes: page.map((row) => toMaskedCode(row, now)), next: rows.length > input.limit ? page.at(-1)!.id : null };
}

export const findCodeInputSchema = z.strictObject({ code: z.string().trim().min(1).max(128) });

/** One code by its full value (as a shopper or support agent has it): its state, masked. */
export async function findCode(tenant: TenantHandle, secrets: Secrets, rawInput: z.input<typeof findCodeInputSchema>, now: Date): Promise<MaskedCode> {
  const input = parseInput(findCodeInputSchema, rawInput);
  const hash = new CodeVault(secrets, tenant.id).lookupHash(input.code);
  const row = await tenant.db.selectFrom('codes').select(CODE_COLUMNS).where('lookup_hash', '=', hash).executeTakeFirst();
  if (!row) throw new AppError('CODE_NOT_FOUND', 'No code of yours matches.', {});
  return toMaskedCode(row, now);
}

export const exportCodesInputSchema = z.strictObject({
  reason: humanText(500).describe('Why the codes leave the system; kept in the audit log.'),
  batchId: batchIdSchema.optional(),
  status: codeStatusSchema.default('available'),
});

const EXPORT_PAGE = 5_000;

/**
 * The one way full codes leave the API in bulk: an explicit export with a reason,
 * written to the audit log (who, when, which codes, how many) before the first code
 * is sent. Streamed page by page.
 */
export async function* exportCodes(
  context: { tenant: TenantHandle; actor: string; secrets: Secrets; now: Date },
  offerId: string,
  rawInput: z.input<typeof exportCodesInputSchema>,
): AsyncGenerator<string> {
  const input = parseInput(exportCodesInputSchema, rawInput);
  const db = context.tenant.db;
  await requireOffer(db, offerId);
  // Codes past their date count as expired before the sweep has marked them, as in the listing.
  let base = db.selectFrom('codes').where('offer_id', '=', offerId);
  if (input.status === 'available') base = base.where('status', '=', 'available').where(validAt(context.now));
  else if (input.status === 'expired') base = base.where((eb) => eb.or([eb('status', '=', 'expired'), eb.and([eb('status', '=', 'available'), eb('expires_at', '<=', context.now)])]));
  else base = base.where('status', '=', input.status);
  if (input.batchId) base = base.where('batch_id', '=', input.batchId);
  const { n } = await base.select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
  await insertAuditEvent(db, {
    actor: context.actor,
    action: 'codes.exported',
    subjectType: 'offer',
    subjectId: offerId,
    details: { reason: input.reason, status: input.status, batchId: input.batchId ?? null, count: Number(n) },
  });
  const vault = new CodeVault(context.secrets, context.tenant.id);
  yield 'code,status,expires_at,batch_id,issued_at\r\n';
  let after = '0';
  for (;;) {
    const page = await base
      .select(['id', 'cipher', 'lookup_hash', 'status', 'expires_at', 'batch_id', 'issued_at'])
      .where('id', '>', after)
      .orderBy('id')
      .limit(EXPORT_PAGE)
      .execute();
    if (page.length === 0) return;
    yield page
      .map((row) =>
        // The code exactly as it is (codes hold only the offer's allowed characters); the
        // other fields are ours. No formula guard here: it would change the code.
        [csvQuoted(vault.decrypt(row.cipher, row.lookup_hash)), input.status === 'expired' ? 'expired' : row.status, row.expires_at?.toISOString() ?? '', row.batch_id, row.issued_at?.toISOString() ?? ''].join(',') +
        '\r\n',
      )
      .join('');
    after = page.at(-1)!.id;
  }
}
