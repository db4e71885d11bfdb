import { z } from 'zod';
import type { CodeStatus } from '../db/tables.ts';
import type { BatchRow } from './import-batch.ts';

export const batchIdSchema = z.string().regex(/^bat_[0-9A-Za-z]{12}$/, 'must be a batch id (bat_ followed by 12 letters and digits)');

export const codeStatusSchema = z.enum(['available', 'reserved', 'issued', 'redeemed', 'expired', 'voided']);

export const codeCountsSchema = z.object({
  available: z.number(),
  reserved: z.number(),
  issued: z.number(),
  redeemed: z.number(),
  expired: z.number(),
  voided: z.number(),
  total: z.number(),
});
export type CodeCounts = z.infer<typeof codeCountsSchema>;

export function emptyCounts(): CodeCounts {
  return { available: 0, reserved: 0, issued: 0, redeemed: 0, expired: 0, voided: 0, total: 0 };
}

export function addCount(counts: CodeCounts, status: CodeStatus, n: number): void {
  counts[status] += n;
  counts.total += n;
}

export const batchOutputSchema = z.object({
  id: z.string(),
  offerId: z.string(),
  kind: z.enum(['upload', 'generated']),
  name: z.string(),
  status: z
    .enum(['receiving', 'queued', 'importing', 'ready', 'failed', 'voided'])
    .describe('receiving: the file is arriving; queued/importing: the import job has it; ready: codes are in the pool; failed: see failure; voided: its unissued codes left the pool.'),
  expiresAt: z.string().nullable(),
  progress: z.object({
    bytesReceived: z.number().describe('Bytes of the file stored so far (after gzip is inflated); the whole file once the batch is queued.'),
    bytesRead: z
      .number()
      .describe('Bytes of the stored file the import has read so far: bytesRead / bytesReceived is how far it is; equal to bytesReceived once the batch is ready. 0 for a generated batch (see rowsRead and generation.count).'),
    rowsRead: z.number().describe('Code rows read so far (blank lines and the header not counted).'),
    accepted: z.number().describe('Codes added to the pool (known when the batch is ready).'),
    rejected: z.number(),
    updatedAt: z.string().nullable(),
  }),
  source: z.object({ filename: z.string().nullable(), delimiter: z.string().nullable() }).nullable(),
  generation: z
    .object({ count: z.number(), prefix: z.string(), length: z.number(), alphabet: z.string(), checkCharacter: z.boolean() })
    .nullable(),
  rejectsByReason: z.record(z.string(), z.number()).optional().describe('Present on a single batch once it is ready.'),
  codes: codeCountsSchema.optional().describe('Codes of this batch by status; present on a single batch.'),
  failure: z.object({ message: z.string() }).nullable(),
  createdAt: z.string(),
  completedAt: z.string().nullable(),
  voidedAt: z.string().nullable(),
  voidReason: z.string().nullable(),
});
export type Batch = z.infer<typeof batchOutputSchema>;

export function toBatch(row: BatchRow): Batch {
  const source = row.source as { filename?: string | null; delimiter?: string | null; generation?: Batch['generation']; bytesRead?: number };
  return {
    id: row.id,
    offerId: row.offer_id,
    kind: row.kind,
    name: row.name,
    status: row.status,
    expiresAt: row.expires_at?.toISOString() ?? null,
    progress: {
      bytesReceived: Number(row.bytes_received),
      bytesRead: row.kind !== 'upload' ? 0 : row.status === 'ready' ? Number(row.bytes_received) : Math.min(Number(source.bytesRead ?? 0), Number(row.bytes_received)),
      rowsRead: Number(row.rows_read),
      accepted: Number(row.accepted),
      rejected: Number(row.rejected),
      updatedAt: row.progress_at?.toISOString() ?? null,
    },
    source: row.kind === 'upload' ? { filename: source.filename ?? null, delimiter: source.delimiter ?? null } : null,
    generation: row.kind === 'generated' ? (source.generation ?? null) : null,
    failure: row.failure ? { message: String((row.failure as { message?: unknown }).message ?? 'failed') } : null,
    createdAt: row.created_at.toISOString(),
    completedAt: row.completed_at?.toISOString() ?? null,
    voidedAt: row.voided_at?.toISOString() ?? null,
    voidReason: row.void_reason,
  };
}
