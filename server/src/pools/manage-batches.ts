import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import { prefixedIds } from '../db/ids.ts';
import { sql } from 'kysely';
import { z } from 'zod';
import type { TenantHandle } from '../auth/principal.ts';
import { timestampSchema } from '../campaigns/campaign.ts';
import type { TenantDb } from '../db/database.ts';
import type { CodeStatus } from '../db/tables.ts';
import { AppError } from '../errors/app-error.ts';
import { humanText } from '../errors/text-schemas.ts';
import { parseInput, validationError } from '../errors/validation.ts';
import { requireOffer } from '../offers/manage-offers.ts';
import { codeRulesOf, type OfferRow } from '../offers/offer.ts';
import type { AppServices } from '../system/services.ts';
import { insertAuditEvent } from '../tenants/audit.queries.ts';
import { addCount, emptyCounts, toBatch, type Batch, type CodeCounts } from './batch.ts';
import { CodeVault } from './code-vault.ts';
import { assertCodeSpace, generateCodesInputSchema, generationRulesProblem, type GenerateCodesInput, type GenerationSpec } from './generation.ts';
import { enqueueImport, type BatchRow } from './import-batch.ts';
import { loadGeneratedFormats, lockCodeFormats, mistypedCode, shapeOfChecked, shapesOverlap } from '../redemptions/code-formats.ts';
import { reconcileStockState } from './stock.ts';

const newBatchId = prefixedIds('bat');

/** Uploaded files are stored in chunks of this size, each sealed on its own. */
const CHUNK_BYTES = 1024 * 1024;

export interface PoolContext {
  services: AppServices;
  tenant: TenantHandle;
  actor: string;
}

function vaultFor(context: PoolContext): CodeVault {
  return new CodeVault(context.services.secrets, context.tenant.id);
}

function assertTakesCodes(offer: OfferRow): void {
  if (offer.status === 'closed') throw new AppError('OFFER_CLOSED', `Offer ${offer.id} is closed and takes no new codes.`, { offerId: offer.id });
}

export async function requireBatch(db: TenantDb, id: string): Promise<BatchRow> {
  const row = await db.selectFrom('code_batches').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw new AppError('BATCH_NOT_FOUND', `No code batch ${id} exists.`, { batchId: id });
  return row;
}

// ---- uploads ---------------------------------------------------------------------

const DELIMITERS: Record<string, string> = { ',': ',', comma: ',', ';': ';', semicolon: ';', tab: '\t', '\t': '\t', '|': '|', pipe: '|' };

export const uploadOptionsSchema = z.strictObject({
  name: humanText(200).optional(),
  expiresAt: timestampSchema.optional().describe('Codes without their own expires_at expire then; a row’s earlier date wins.'),
  delimiter: z
    .string()
    .refine((value) => value in DELIMITERS, 'must be one of , ; tab | (or comma, semicolon, pipe)')
    .default(',')
    .transform((value) => DELIMITERS[value]!),
  filename: humanText(255).optional().describe('The file name as the user chose it: shown in the portal, used as the name when none is given.'),
});
export type UploadOptions = z.input<typeof uploadOptionsSchema>;

export interface UploadResult {
  batch: Batch;
  /** False when an earlier upload with the same Idempotency-Key is answered instead. */
  created: boolean;
}

/**
 * Receives a code file: streamed from the request in 1 MiB chunks, each sealed
 * (AES-GCM) and stored, so the file never sits in memory or in plain text. Then the
 * batch is queued for the import job. Gzip bodies (Content-Encoding: gzip) are
 * inflated on the way. A body over the limit, or cut off, fails the batch and leaves
 * no chunk behind.
 */
export async function receiveUpload(
  context: PoolContext,
  offerId: string,
  rawOptions: UploadOptions,
  body: Readable,
  meta: { contentEncoding: 'identity' | 'gzip'; uploadKey: string | undefined; limitBytes: number },
): Promise<UploadResult> {
  const options = parseInput(uploadOptionsSchema, rawOptions);
  const now = context.services.clock.now();
  if (options.expiresAt && new Date(options.expiresAt) <= now) throw validationError([{ path: ['expiresAt'], message: 'must be in the future' }]);
  const db = context.tenant.db;
  const offer = await requireOffer(db, offerId);
  assertTakesCodes(offer);

  if (meta.uploadKey) {
    const earlier = await db.selectFrom('code_batches').selectAll().where('upload_key', '=', meta.uploadKey).executeTakeFirst();
    if (earlier && earlier.status === 'receiving') {
      throw new AppError('UPLOAD_IN_PROGRESS', 'An upload with this Idempotency-Key is still being received.', { batchId: earlier.id });
    }
    if (earlier && earlier.offer_id !== offerId) throw new AppError('IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was used for an upload to another offer.', { batchId: earlier.id });
    // An upload cut off earlier may be sent again under its key; anything else is answered as it was.
    if (earlier && !(earlier.status === 'failed' && earlier.chunk_count === 0)) return { batch: toBatch(earlier), created: false };
    if (earlier) await db.updateTable('code_batches').set({ upload_key: null }).where('id', '=', earlier.id).execute();
  }

  const batchId = newBatchId();
  try {
    await db
      .insertInto('code_batches')
      .values({
        id: batchId,
        offer_id: offerId,
        kind: 'upload',
        name: options.name ?? options.filename ?? `Upload ${now.toISOString().slice(0, 16).replace('T', ' ')}`,
        status: 'receiving',
        expires_at: options.expiresAt ? new Date(options.expiresAt) : null,
        upload_key: meta.uploadKey ?? null,
        source: JSON.stringify({ filename: options.filename ?? null, delimiter: options.delimiter, contentEncoding: meta.contentEncoding }),
        created_by: context.actor,
        created_at: now,
        progress_at: now,
      })
      .execute();
  } catch (error) {
    if ((error as { code?: string }).code === '23505' && meta.uploadKey) {
      throw new AppError('UPLOAD_IN_PROGRESS', 'An upload with this Idempotency-Key is being received right now.', {});
    }
    throw error;
  }

  const vault = vaultFor(context);
  let seq = 0;
  let received = 0;
  try {
    const source: AsyncIterable<Buffer> = meta.contentEncoding === 'gzip' ? body.pipe(createGunzip()) : body;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const flush = async () => {
      if (pendingBytes === 0) return;
      const data = Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
      await db.insertInto('code_batch_chunks').values({ batch_id: batchId, seq, data: vault.sealChunk(data, `${batchId}:${seq}`) }).execute();
      seq += 1;
      const alive = await db
        .updateTable('code_batches')
        .set({ bytes_received: received, chunk_count: seq, progress_at: context.services.clock.now() })
        .where('id', '=', batchId)
        .where('status', '=', 'receiving')
        .executeTakeFirst();
      // The sweep gave up on this upload (no chunk for a long time): it cannot resume.
      if (Number(alive.numUpdatedRows) === 0) throw new Error('the upload was abandoned');
    };
    for await (const chunk of source) {
      received += chunk.length;
      if (received > meta.limitBytes) {
        throw new AppError('PAYLOAD_TOO_LARGE', `The file is larger than this server accepts (${meta.limitBytes} bytes, UPLOAD_LIMIT_BYTES). Split it into several uploads.`, {
          limitBytes: meta.limitBytes,
        });
      }
      let offset = 0;
      while (offset < chunk.length) {
        const take = Math.min(CHUNK_BYTES - pendingBytes, chunk.length - offset);
        pending.push(chunk.subarray(offset, offset + take));
        pendingBytes += take;
        offset += take;
        if (pendingBytes === CHUNK_BYTES) await flush();
      }
    }
    await flush();
    if (received === 0) throw new AppError('UPLOAD_EMPTY', 'The uploaded file is empty.', {});
  } catch (error) {
    await abandonUpload(db, batchId, error);
    throw error instanceof AppError || !(error instanceof Error) ? error : new AppError('VALIDATION_FAILED', `The upload could not be read: ${error.message}`, {});
  }

  const queued = await db
    .updateTable('code_batches')
    .set({ status: 'queued', queued_at: context.services.clock.now(), bytes_received: received, chunk_count: seq })
    .where('id', '=', batchId)
    .where('status', '=', 'receiving')
    .returningAll()
    .executeTakeFirst();
  if (!queued) {
    await abandonUpload(db, batchId, new Error('abandoned'));
    throw new AppError('SERVICE_UNAVAILABLE', 'The upload took too long between chunks and was given up. Send the file again.', { batchId });
  }
  await insertAuditEvent(db, { actor: context.actor, action: 'code_batch.uploaded', subjectType: 'code_batch', subjectId: batchId, details: { offerId, bytes: received } });
  await enqueueImport(context.services, context.tenant.slug, batchId);
  return { batch: toBatch(queued), created: true };
}

async function abandonUpload(db: TenantDb, batchId: string, error: unknown): Promise<void> {
  const message = error instanceof AppError ? error.message : 'The upload was cut off before the whole file arrived. Send it again.';
  await db.deleteFrom('code_batch_chunks').where('batch_id', '=', batchId).execute();
  await db
    .updateTable('code_batches')
    .set({ status: 'failed', chunk_count: 0, failure: JSON.stringify({ message }) })
    .where('id', '=', batchId)
    .execute();
}

// ---- generation ------------------------------------------------------------------

/** Queues a generated batch: checked against the offer's code rules and the code space first. */
export async function generateBatch(context: PoolContext, offerId: string, rawInput: GenerateCodesInput): Promise<Batch> {
  const input = parseInput(generateCodesInputSchema, rawInput);
  const now = context.services.clock.now();
  if (input.expiresAt && new Date(input.expiresAt) <= now) throw validationError([{ path: ['expiresAt'], message: 'must be in the future' }]);
  const spec: GenerationSpec = { count: input.count, prefix: input.prefix, length: input.length, alphabet: input.alphabet, checkCharacter: input.checkCharacter };
  const db = context.tenant.db;
  const row = await db.transaction().execute(async (trx) => {
    // First, before the offer row: the import of an upload takes it (shared) with no offer lock.
    await lockCodeFormats(trx, context.tenant.id, 'exclusive');
    const offer = await requireOffer(trx, offerId, { forUpdate: true });
    assertTakesCodes(offer);
    const problem = generationRulesProblem(spec, codeRulesOf(offer));
    if (problem) throw validationError([{ path: [problem.path], message: problem.message }]);
    // Codes already generated in the same format share the space.
    const { rows } = await sql<{ n: string | null }>`
      select sum(greatest(accepted, (source->'generation'->>'count')::bigint))::text as n from ${sql.table(`${context.tenant.schema}.code_batches`)}
      where kind = 'generated' and status <> 'failed'
        and source->'generation'->>'prefix' = ${spec.prefix} and source->'generation'->>'alphabet' = ${spec.alphabet}
        and (source->'generation'->>'length')::int = ${spec.length}`.execute(trx);
    assertCodeSpace(spec, Number(rows[0]?.n ?? 0));
    await assertNoFormatConflict(trx, vaultFor(context), spec);
    const batch = await trx
      .insertInto('code_batches')
      .values({
        id: newBatchId(),
        offer_id: offerId,
        kind: 'generated',
        name: input.name ?? `${spec.count.toLocaleString('en')} generated codes${spec.prefix ? ` (${spec.prefix}…)` : ''}`,
        status: 'queued',
        expires_at: input.expiresAt ? new Date(input.expiresAt) : null,
        source: JSON.stringify({ generation: spec }),
        created_by: context.actor,
        created_at: now,
        queued_at: now,
        progress_at: now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await insertAuditEvent(trx, { actor: context.actor, action: 'code_batch.generation_requested', subjectType: 'code_batch', subjectId: batch.id, details: { offerId, ...spec } });
    return batch;
  });
  // A new check-character format takes effect at once in this process (others: within a minute).
  if (spec.checkCharacter) context.services.codeFormats.forget(context.tenant.id);
  await enqueueImport(context.services, context.tenant.slug, row.id);
  return toBatch(row);
}

const CONFLICT_PAGE = 10_000;

/**
 * A generation must not make codes look mistyped: a code with the shape of a
 * check-character format that fails its check is refused at the till without a lookup
 * (INVALID_CHECK_CHARACTER).
 *
 * - Without a check character, its codes must not have the shape of an existing
 *   check-character format (most of them would fail that check).
 * - With one, no generated format without a check character may share its shape (its
 *   batch may not be imported yet), and no code the partner already has may have its
 *   shape and fail it (codes are stored encrypted: those of the format's length, known
 *   from their masks, are decrypted and checked a page at a time; voided and expired
 *   codes no longer matter; a code passing another format of the partner is fine).
 */
async function assertNoFormatConflict(db: TenantDb, vault: CodeVault, spec: GenerationSpec): Promise<void> {
  const format = { prefix: spec.prefix, length: spec.length, alphabet: spec.alphabet };
  const shape = spec.checkCharacter ? shapeOfChecked(format) : format;
  const generated = await loadGeneratedFormats(db);
  const clash = generated.find((other) => other.checkCharacter !== spec.checkCharacter && shapesOverlap(shape, other.checkCharacter ? shapeOfChecked(other) : other));
  if (clash) {
    throw new AppError(
      'CHECK_CHARACTER_FORMAT_CONFLICT',
      spec.checkCharacter
        ? `Codes you generated without a check character (prefix "${clash.prefix}", ${clash.length} characters) have the shape of this format: shops would have most of them refused as mistyped. Use another prefix or length.`
        : `Your codes with a check character (prefix "${clash.prefix}", ${clash.length} characters and the check) have the shape of this format: shops would have most of these refused as mistyped. Use another prefix or length, or a check character.`,
      { conflictingFormat: { prefix: clash.prefix, length: clash.length, checkCharacter: clash.checkCharacter }, prefix: spec.prefix, length: spec.length },
    );
  }
  if (!spec.checkCharacter) return;
  const formats = [...generated.filter((other) => other.checkCharacter), format];
  const total = spec.prefix.length + spec.length + 1;
  let conflicts = 0;
  let example: string | undefined;
  let after = '0';
  for (;;) {
    const page = await db
      .selectFrom('codes')
      .select(['id', 'cipher', 'mask'])
      .where(sql<boolean>`char_length(mask) = ${total}`)
      .where('status', 'not in', ['voided', 'expired'])
      .where('id', '>', after)
      .orderBy('id')
      .limit(CONFLICT_PAGE)
      .execute();
    for (const row of page) {
      if (mistypedCode(formats, vault.decrypt(row.cipher))) {
        conflicts += 1;
        example ??= row.mask;
      }
    }
    if (page.length < CONFLICT_PAGE) break;
    after = page.at(-1)!.id;
  }
  if (conflicts === 0) return;
  throw new AppError(
    'CHECK_CHARACTER_FORMAT_CONFLICT',
    `${conflicts.toLocaleString('en')} of your codes (e.g. ${example}) have the shape of this format but not its check character: shops would have them refused as mistyped. Use another prefix or length, or no check character.`,
    { conflictingCodes: conflicts, exampleMask: example, prefix: spec.prefix, length: spec.length },
  );
}

// ---- reading ---------------------------------------------------------------------

/**
 * Codes of an offer (or of one of its batches) by status, available codes past their
 * date counted as expired. Index scans only, also for millions of codes: statuses from
 * the (batch, status) index, the lapsed ones from the available-codes index.
 */
export async function countCodes(db: TenantDb, scope: { offerId: string; batchId?: string }, now: Date): Promise<CodeCounts> {
  let byStatus = db.selectFrom('codes').select(['status', sql<number>`count(*)::integer`.as('n')]).groupBy('status');
  byStatus = scope.batchId
    ? byStatus.where('batch_id', '=', scope.batchId)
    : byStatus.where('batch_id', 'in', db.selectFrom('code_batches').select('id').where('offer_id', '=', scope.offerId));
  let lapsed = db
    .selectFrom('codes')
    .select(sql<number>`count(*)::integer`.as('n'))
    .where('offer_id', '=', scope.offerId)
    .where('status', '=', 'available')
    .where('expires_at', '<=', now);
  if (scope.batchId) lapsed = lapsed.where('batch_id', '=', scope.batchId);
  const counts = emptyCounts();
  for (const row of await byStatus.execute()) addCount(counts, row.status as CodeStatus, row.n);
  const { n } = await lapsed.executeTakeFirstOrThrow();
  counts.available -= n;
  counts.expired += n;
  return counts;
}

export async function getBatch(context: PoolContext, batchId: string): Promise<Batch> {
  const row = await requireBatch(context.tenant.db, batchId);
  const batch = toBatch(row);
  // Before it is ready a batch has no visible code: no need to count (and, during an
  // import, to wade through the rows it is inserting).
  const finished = row.status === 'ready' || row.status === 'voided';
  batch.codes = finished ? await countCodes(context.tenant.db, { offerId: row.offer_id, batchId }, context.services.clock.now()) : emptyCounts();
  if (row.status === 'ready' || row.status === 'voided') {
    const reasons = await context.tenant.db
      .selectFrom('code_batch_rejects')
      .select(['reason', sql<number>`count(*)::integer`.as('n')])
      .where('batch_id', '=', batchId)
      .groupBy('reason')
      .execute();
    batch.rejectsByReason = Object.fromEntries(reasons.map((r) => [r.reason, r.n]));
  }
  return batch;
}

export async function listBatches(context: PoolContext, offerId: string): Promise<Batch[]> {
  await requireOffer(context.tenant.db, offerId);
  const rows = await context.tenant.db.selectFrom('code_batches').selectAll().where('offer_id', '=', offerId).orderBy('created_at', 'desc').orderBy('id').execute();
  return rows.map(toBatch);
}

/** The reject report, in line order, decrypted page by page for a streamed download. */
export async function* rejectReportLines(context: PoolContext, batchId: string): AsyncGenerator<string> {
  await requireBatch(context.tenant.db, batchId);
  const vault = vaultFor(context);
  yield 'line,code,reason,detail\r\n';
  let after = -1;
  for (;;) {
    const page = await context.tenant.db
      .selectFrom('code_batch_rejects')
      .select(['line_no', 'reason', 'detail', 'code_cipher'])
      .where('batch_id', '=', batchId)
      .where('line_no', '>', String(after))
      .orderBy('line_no')
      .limit(5_000)
      .execute();
    if (page.length === 0) return;
    yield page
      .map((row) => [row.line_no, row.code_cipher ? vault.decrypt(row.code_cipher) : '', row.reason, row.detail ?? ''].map((v) => csvField(String(v))).join(',') + '\r\n')
      .join('');
    after = Number(page.at(-1)!.line_no);
  }
}

/** One CSV field, quoted when it must be. */
export function csvQuoted(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/**
 * A field from an uploaded file, for the reject report: anything may be in it, so a
 * leading =, +, - or @ gets a ' so a spreadsheet does not run it as a formula.
 */
export function csvField(value: string): string {
  return csvQuoted(/^[=+\-@\t\r]/.test(value) ? `'${value}` : value);
}

// ---- voiding ---------------------------------------------------------------------

export const voidBatchInputSchema = z.strictObject({ reason: humanText(500) });

/**
 * Voids a batch: its available codes leave the pool at once; issued and redeemed codes
 * are untouched (customers hold them); reserved ones are voided when released.
 */
export async function voidBatch(context: PoolContext, batchId: string, rawInput: z.input<typeof voidBatchInputSchema>): Promise<Batch> {
  const input = parseInput(voidBatchInputSchema, rawInput);
  const now = context.services.clock.now();
  return context.tenant.db.transaction().execute(async (trx) => {
    const row = await trx.selectFrom('code_batches').selectAll().where('id', '=', batchId).forUpdate().executeTakeFirst();
    if (!row) throw new AppError('BATCH_NOT_FOUND', `No code batch ${batchId} exists.`, { batchId });
    if (!['ready', 'queued', 'failed'].includes(row.status)) {
      throw new AppError('BATCH_NOT_VOIDABLE', `Batch ${batchId} is ${row.status}; ${row.status === 'voided' ? 'it is already voided' : 'void it once its import has finished'}.`, {
        batchId,
        status: row.status,
      });
    }
    const voided = await trx
      .updateTable('codes')
      .set({ status: 'voided', status_changed_at: now })
      .where('batch_id', '=', batchId)
      .where('status', '=', 'available')
      .executeTakeFirst();
    await trx.deleteFrom('code_batch_chunks').where('batch_id', '=', batchId).execute();
    const updated = await trx
      .updateTable('code_batches')
      .set({ status: 'voided', voided_at: now, voided_by: context.actor, void_reason: input.reason })
      .where('id', '=', batchId)
      .returningAll()
      .executeTakeFirstOrThrow();
    const count = Number(voided.numUpdatedRows);
    await insertAuditEvent(trx, { actor: context.actor, action: 'code_batch.voided', subjectType: 'code_batch', subjectId: batchId, details: { reason: input.reason, codesVoided: count } });
    await reconcileStockState(trx, row.offer_id, now);
    return toBatch(updated);
  });
}
