import { z } from 'zod';
import type { TenantDb } from '../db/database.ts';

export const historyEntrySchema = z.object({
  id: z.string(),
  kind: z.enum(['accrual', 'reversal', 'spend', 'expiry', 'adjustment', 'refund']),
  campaignId: z.string(),
  stickers: z.number().int(),
  availableAt: z.string(),
  recordedAt: z.string(),
  description: z.string().describe('What happened, in words a customer understands.'),
  receiptId: z.string().nullable(),
  storeCode: z.string().nullable(),
});

export type HistoryEntry = z.infer<typeof historyEntrySchema>;

function describe(row: { kind: string; amount: number; reference: string | null; reason: string | null; receipt_id: string | null; store_code: string | null; available_at: Date }): string {
  const n = `${Math.abs(row.amount)} sticker${Math.abs(row.amount) === 1 ? '' : 's'}`;
  switch (row.kind) {
    case 'accrual':
      return `${n} for receipt ${row.receipt_id} at store ${row.store_code}`;
    case 'reversal':
      return `${n} taken back: return ${row.reference} of receipt ${row.receipt_id}`;
    case 'spend':
      return `${n} exchanged for voucher ${row.reference}`;
    case 'refund':
      return `${n} given back: voucher ${row.reference} cancelled${row.reason ? ` (${row.reason})` : ''}`;
    case 'expiry':
      return `${n} burned when the campaign ended`;
    default:
      return `${row.amount > 0 ? 'Added' : 'Removed'} ${n}: ${row.reason}`;
  }
}

/** The customer's ledger, newest first, keyset-paginated by entry id. */
export async function listHistory(db: TenantDb, customerId: string, options: { limit: number; cursor?: string | undefined }): Promise<{ entries: HistoryEntry[]; nextCursor: string | null }> {
  let query = db
    .selectFrom('sticker_ledger as l')
    .leftJoin('purchases as p', 'p.id', 'l.purchase_id')
    .select(['l.id', 'l.kind', 'l.campaign_id', 'l.amount', 'l.available_at', 'l.recorded_at', 'l.reference', 'l.reason', 'p.receipt_id', 'p.store_code'])
    .where('l.customer_id', '=', customerId)
    .orderBy('l.id', 'desc')
    .limit(options.limit + 1);
  if (options.cursor) query = query.where('l.id', '<', options.cursor);
  const rows = await query.execute();
  const page = rows.slice(0, options.limit);
  return {
    entries: page.map((row) => ({
      id: row.id,
      kind: row.kind,
      campaignId: row.campaign_id,
      stickers: row.amount,
      availableAt: row.available_at.toISOString(),
      recordedAt: row.recorded_at.toISOString(),
      description: describe(row),
      receiptId: row.receipt_id,
      storeCode: row.store_code,
    })),
    nextCursor: rows.length > options.limit ? (page.at(-1)?.id ?? null) : null,
  };
}
