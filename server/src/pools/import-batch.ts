import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import { sql } from 'kysely';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { z } from 'zod';
import { coalitionDb, kyselyOnClient, tenantDb, withPgClient, type TenantDb } from '../db/database.ts';
import { tenantSchemaName, type TenantSchemaName } from '../db/schema-names.ts';
import type { Selectable } from 'kysely';
import type { CodeBatchesTable } from '../db/tables.ts';
import type { JobDefinition } from '../jobs/job-definition.ts';
import type { Logger } from '../logging/logger.ts';
import { codeRulesOf, type OfferRow } from '../offers/offer.ts';
import type { AppServices } from '../system/services.ts';
import { insertAuditEvent } from '../tenants/audit.queries.ts';
import { CodeVault, maskCode } from './code-vault.ts';
import { loadCheckedFormats, lockCodeFormats, mistypedCode, type CheckedFormat } from '../redemptions/code-formats.ts';
import { codeChecker, type CodeRejectReason } from './code-rules.ts';
import { CsvRecordReader, type CsvRecord } from './csv-records.ts';
import { parseExpiry } from './expiry.ts';
import { codeGenerator, type GenerationSpec } from './generation.ts';
import { reconcileStockState } from './stock.ts';

const CODE_IMPORT_QUEUE = 'code-imports';
/** After this many failed runs a batch is marked failed instead of retried. */
export const MAX_IMPORT_ATTEMPTS = 3;
/** Longest CSV record read as a code row; longer ones are rejected as ROW_TOO_LONG without being held. */
const MAX_RECORD_CHARS = 4_096;
const GENERATION_GROUP = 10_000;
const PROGRESS_EVERY_MS = 500;
/** The stored file is fed to the CSV reader this much at a time, so bytesRead moves within a 1 MiB chunk. */
const READ_SLICE_BYTES = 64 * 1024;

export type BatchRow = Selectable<CodeBatchesTable>;

const importPayload = z.object({ tenant: z.string(), batchId: z.string() });

export const importCodeBatchJob: JobDefinition<z.infer<typeof importPayload>> = {
  queue: CODE_IMPORT_QUEUE,
  name: 'import-code-batch',
  payload: importPayload,
  handle: async (payload, { services, logger }) => {
    await importCodeBatch(services, payload, logger);
  },
};

/** Adds the import job; a failure to reach Redis leaves the batch queued for the sweep. */
export async function enqueueImport(services: AppServices, tenant: string, batchId: string, options: { requeue?: boolean } = {}): Promise<boolean> {
  try {
    await services.jobs.enqueue(importCodeBatchJob, { tenant, batchId }, {
      // BullMQ ignores a job id it already holds (even a failed job's): a re-queue gets its own.
      jobId: options.requeue ? `${tenant}.${batchId}.r${Date.now()}` : `${tenant}.${batchId}`,
      attempts: MAX_IMPORT_ATTEMPTS,
      backoff: { type: 'exponential', delay: 2_000 },
    });
    return true;
  } catch (error) {
    services.logger.warn({ err: error, tenant, batchId }, 'could not enqueue a code import; the pool sweep will retry');
    return false;
  }
}

function copyText(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}

interface StageRow {
  line: number;
  /** The normalised code, or for a reject the start of what the row held. */
  text: string;
  reason: CodeRejectReason | null;
  detail: string | null;
  expiresAt: Date | null;
}

/** Writes rows into the COPY stream as hash, ciphertext and mask: the plain code never reaches Postgres. */
class Stage {
  rowsRead = 0;
  rejected = 0;
  /** Bytes of the stored file read so far (uploads): the import's progress against bytes_received. */
  bytesRead = 0;

  constructor(
    private readonly copy: NodeJS.WritableStream & { write(chunk: string): boolean },
    private readonly vault: CodeVault,
    private readonly maskPrefix: string,
  ) {}

  async write(rows: StageRow[]): Promise<void> {
    if (rows.length === 0) return;
    const ciphers = this.vault.encryptMany(rows.map((row) => row.text));
    let text = '';
    rows.forEach((row, index) => {
      const cipher = `\\\\x${ciphers[index]!.toString('hex')}`;
      if (row.reason) {
        this.rejected += 1;
        text += `${row.line}\t\\N\t${cipher}\t\\N\t\\N\t${row.reason}\t${row.detail ? copyText(row.detail) : '\\N'}\n`;
      } else {
        const hash = `\\\\x${this.vault.lookupHash(row.text).toString('hex')}`;
        text += `${row.line}\t${hash}\t${cipher}\t${copyText(maskCode(row.text, this.maskPrefix))}\t${row.expiresAt?.toISOString() ?? '\\N'}\t\\N\t\\N\n`;
      }
    });
    if (!this.copy.write(text)) await once(this.copy as unknown as NodeJS.EventEmitter, 'drain');
  }
}

/** Turns CSV records into stage rows: header detection, the offer's code rules, expiry dates. */
class RowReader {
  private header: { code: number; expiresAt: number } | null | undefined;
  private readonly check;

  constructor(
    offer: OfferRow,
    private readonly batch: BatchRow,
    private readonly timeZone: string,
    private readonly now: Date,
    private readonly delimiter: string,
    private readonly checkedFormats: readonly CheckedFormat[],
  ) {
    this.check = codeChecker(codeRulesOf(offer));
  }

  rows(records: CsvRecord[]): StageRow[] {
    const out: StageRow[] = [];
    for (const record of records) {
      if ('problem' in record) {
        out.push({ line: record.line, text: record.preview, reason: record.problem, detail: record.detail, expiresAt: null });
        continue;
      }
      if (this.header === undefined) {
        const names = record.fields.map((field) => field.trim().toLowerCase());
        this.header = names.includes('code') ? { code: names.indexOf('code'), expiresAt: names.indexOf('expires_at') } : null;
        if (this.header) continue;
      }
      out.push(this.row(record.line, record.fields));
    }
    return out;
  }

  private row(line: number, fields: string[]): StageRow {
    const reject = (reason: CodeRejectReason, detail: string, text = fields.join(this.delimiter).slice(0, 40)): StageRow => ({ line, text, reason, detail, expiresAt: null });
    if (!this.header && fields.length > 2) return reject('TOO_MANY_COLUMNS', `${fields.length} columns`);
    const raw = fields[this.header ? this.header.code : 0] ?? '';
    const checked = this.check(raw);
    if (!checked.ok) return reject(checked.reason, checked.detail, raw.trim().slice(0, 40));
    // Such a code would be refused at the till as mistyped, without a lookup.
    if (mistypedCode(this.checkedFormats, checked.code)) {
      return reject('CHECK_CHARACTER_CONFLICT', 'looks like one of your generated codes with a check character, but fails the check', checked.code);
    }
    let expiresAt = this.batch.expires_at;
    const expiryIndex = this.header ? this.header.expiresAt : 1;
    const rawExpiry = expiryIndex >= 0 ? (fields[expiryIndex] ?? '').trim() : '';
    if (rawExpiry) {
      const parsed = parseExpiry(rawExpiry, this.timeZone);
      if (!parsed) return reject('INVALID_EXPIRY', `"${rawExpiry.slice(0, 40)}" is not a date`, checked.code);
      if (parsed <= this.now) return reject('EXPIRY_IN_PAST', `${parsed.toISOString()} has passed`, checked.code);
      if (!expiresAt || parsed < expiresAt) expiresAt = parsed;
    }
    return { line, text: checked.code, reason: null, detail: null, expiresAt };
  }
}

interface ImportTarget {
  slug: string;
  tenantId: string;
  timeZone: string;
  schema: TenantSchemaName;
}

/**
 * The code import (a BullMQ job): reads the batch's file (or generates its codes),
 * streams hash/ciphertext rows into a temporary table with COPY, then moves them into
 * the pool with set-based statements, all in ONE transaction: a crash anywhere leaves
 * no code of the batch visible, and the retry starts over from the stored file.
 * Progress (rows read, rejected) is written beside it on another connection.
 */
export async function importCodeBatch(services: AppServices, payload: { tenant: string; batchId: string }, logger: Logger): Promise<'imported' | 'skipped' | 'failed'> {
  const tenant = await coalitionDb(services.db).selectFrom('tenants').select(['id', 'slug', 'timezone']).where('slug', '=', payload.tenant).executeTakeFirst();
  if (!tenant) return 'skipped';
  const target: ImportTarget = { slug: tenant.slug, tenantId: tenant.id, timeZone: tenant.timezone, schema: tenantSchemaName(tenant.slug) };
  const db = tenantDb(services.db, target.schema);
  const batch = await db
    .updateTable('code_batches')
    // A retry reads the file from the start again.
    .set({ status: 'importing', progress_at: services.clock.now(), source: sql`source - 'bytesRead'` })
    .where('id', '=', payload.batchId)
    .where('status', 'in', ['queued', 'importing'])
    .returningAll()
    .executeTakeFirst();
  if (!batch) return 'skipped';
  const run = { attempt: 0 };
  try {
    return await withPgClient(services.db, (client) => runImport(services, client, target, batch, logger, run));
  } catch (error) {
    if (run.attempt < MAX_IMPORT_ATTEMPTS) throw error;
    logger.error({ err: error, batchId: batch.id }, 'code import failed for good');
    await db.transaction().execute(async (trx) => {
      await trx
        .updateTable('code_batches')
        .set({ status: 'failed', chunk_count: 0, failure: JSON.stringify({ message: 'The import failed repeatedly; the operator log has the cause. Upload the file again.', attempts: run.attempt }) })
        .where('id', '=', batch.id)
        .where('status', '=', 'importing')
        .execute();
      await trx.deleteFrom('code_batch_chunks').where('batch_id', '=', batch.id).execute();
    });
    return 'failed';
  }
}

async function runImport(
  services: AppServices,
  client: pg.PoolClient,
  target: ImportTarget,
  batch: BatchRow,
  logger: Logger,
  run: { attempt: number },
): Promise<'imported' | 'skipped'> {
  const now = services.clock.now();
  const db = tenantDb(services.db, target.schema);
  const vault = new CodeVault(services.secrets, target.tenantId);
  const trxDb = kyselyOnClient(client);
  const s = `"${target.schema}"`;

  await client.query('begin');
  try {
    // One run per batch at a time: a stalled job's retry waits for nothing and leaves.
    const { rows: lock } = await client.query<{ ok: boolean }>('select pg_try_advisory_xact_lock(hashtextextended($1, 0)) as ok', [`code-import:${target.schema}:${batch.id}`]);
    if (!lock[0]?.ok) {
      await client.query('rollback');
      return 'skipped';
    }
    // Counted on another connection, so a run that fails still counts.
    const counted = await db
      .updateTable('code_batches')
      .set({ import_attempts: sql`import_attempts + 1` })
      .where('id', '=', batch.id)
      .returning('import_attempts')
      .executeTakeFirstOrThrow();
    run.attempt = counted.import_attempts;
    // The staged rows are sorted once by lookup hash; enough memory keeps that sort off disk.
    await client.query(`set local work_mem = '256MB'`);
    await client.query(`
      create temp table code_import_stage (
        line_no bigint not null, lookup_hash bytea, cipher bytea not null, mask text,
        expires_at timestamptz, reason text, detail text
      ) on commit drop`);
    const offer = await tenantDb(trxDb, target.schema).selectFrom('offers').selectAll().where('id', '=', batch.offer_id).executeTakeFirstOrThrow();
    const generation = batch.kind === 'generated' ? (batch.source as { generation: GenerationSpec }).generation : null;
    const maskPrefix = generation?.prefix ?? '';

    let lastProgress = 0;
    const progress = async (stage: Stage, force = false) => {
      if (!force && Date.now() - lastProgress < PROGRESS_EVERY_MS) return;
      lastProgress = Date.now();
      await db
        .updateTable('code_batches')
        .set({
          rows_read: stage.rowsRead,
          rejected: stage.rejected,
          progress_at: services.clock.now(),
          ...(batch.kind === 'upload' && { source: sql`jsonb_set(source, '{bytesRead}', to_jsonb(${stage.bytesRead}::bigint))` }),
        })
        .where('id', '=', batch.id)
        .execute();
    };

    const copyInto = async (fill: (stage: Stage) => Promise<void>): Promise<Stage> => {
      const copy = client.query(copyFrom('copy code_import_stage (line_no, lookup_hash, cipher, mask, expires_at, reason, detail) from stdin'));
      const stage = new Stage(copy, vault, maskPrefix);
      await fill(stage);
      copy.end();
      await finished(copy);
      return stage;
    };

    let accepted: number;
    let stage: Stage;
    if (generation) {
      const generate = codeGenerator(generation);
      const fillWith = (count: number, firstLine: number) => async (into: Stage) => {
        for (let done = 0; done < count; done += GENERATION_GROUP) {
          const size = Math.min(GENERATION_GROUP, count - done);
          const rows: StageRow[] = Array.from({ length: size }, (_, i) => ({ line: firstLine + done + i, text: generate(), reason: null, detail: null, expiresAt: batch.expires_at }));
          into.rowsRead += size;
          await into.write(rows);
          await progress(into);
        }
      };
      stage = await copyInto(fillWith(generation.count, 1));
      accepted = await insertCodes(client, s, batch, offer.id, now);
      // Draws that collided (with each other or with existing codes) are drawn again.
      for (let round = 0; accepted < generation.count; round++) {
        if (round === 5) throw new Error(`Could not generate ${generation.count} distinct codes for batch ${batch.id}`);
        await client.query('truncate code_import_stage');
        await copyInto(fillWith(generation.count - accepted, generation.count + round * generation.count + 1));
        accepted += await insertCodes(client, s, batch, offer.id, now);
      }
    } else {
      const delimiter = (batch.source as { delimiter?: string }).delimiter ?? ',';
      const reader = new CsvRecordReader({ delimiter, maxRecordChars: MAX_RECORD_CHARS });
      // Held to commit: a generation with a check character waits for this file's codes, or this file sees its format.
      await lockCodeFormats(trxDb, target.tenantId, 'shared');
      const rows = new RowReader(offer, batch, target.timeZone, now, delimiter, await loadCheckedFormats(tenantDb(trxDb, target.schema)));
      const decoder = new TextDecoder('utf-8');
      stage = await copyInto(async (into) => {
        const push = async (records: CsvRecord[]) => {
          const stageRows = rows.rows(records);
          into.rowsRead += stageRows.length;
          await into.write(stageRows);
          await progress(into);
        };
        for (let seq = 0; seq < batch.chunk_count; seq++) {
          // Another connection: this one is busy streaming the COPY.
          const chunk = await db.selectFrom('code_batch_chunks').select('data').where('batch_id', '=', batch.id).where('seq', '=', seq).executeTakeFirst();
          if (!chunk) throw new Error(`Chunk ${seq} of batch ${batch.id} is missing`);
          const plain = vault.openChunk(chunk.data, `${batch.id}:${seq}`);
          for (let offset = 0; offset < plain.length; offset += READ_SLICE_BYTES) {
            const slice = plain.subarray(offset, offset + READ_SLICE_BYTES);
            into.bytesRead += slice.length;
            await push(reader.push(decoder.decode(slice, { stream: true })));
          }
        }
        await push([...reader.push(decoder.decode()), ...reader.end()]);
      });
      // The whole file is read: what is left is moving the rows into the pool.
      await progress(stage, true);
      await client.query(`
        insert into ${s}.code_batch_rejects (batch_id, line_no, reason, detail, code_cipher)
        select $1, line_no, reason, detail, cipher from code_import_stage where reason is not null`, [batch.id]);
      accepted = await insertCodes(client, s, batch, offer.id, now, { reportRejects: true });
      const { rows: counted } = await client.query<{ n: number }>(`select count(*)::integer as n from ${s}.code_batch_rejects where batch_id = $1`, [batch.id]);
      stage.rejected = counted[0]!.n;
    }

    const trx = tenantDb(trxDb, target.schema);
    await trx
      .updateTable('code_batches')
      .set({
        status: 'ready',
        rows_read: stage.rowsRead,
        accepted,
        rejected: stage.rejected,
        completed_at: services.clock.now(),
        progress_at: services.clock.now(),
        failure: null,
        ...(batch.kind === 'upload' && { source: sql`jsonb_set(source, '{bytesRead}', to_jsonb(bytes_received))` }),
      })
      .where('id', '=', batch.id)
      .execute();
    await trx.deleteFrom('code_batch_chunks').where('batch_id', '=', batch.id).execute();
    await insertAuditEvent(trx, {
      actor: 'system',
      action: 'code_batch.imported',
      subjectType: 'code_batch',
      subjectId: batch.id,
      details: { offerId: offer.id, rowsRead: stage.rowsRead, accepted, rejected: stage.rejected },
    });
    await reconcileStockState(trx, offer.id, now);
    await client.query('commit');
    logger.info({ batchId: batch.id, rowsRead: stage.rowsRead, accepted, rejected: stage.rejected }, 'code batch imported');
    return 'imported';
  } catch (error) {
    await client.query('rollback').catch(() => {});
    throw error;
  }
}

/**
 * Moves the staged valid rows into the pool in one statement, with one sort: the first
 * row of each code wins (later ones are reported as DUPLICATE_IN_FILE), codes the
 * partner already has are skipped (for uploads, reported as ALREADY_EXISTS), and a
 * concurrent import of the same code waits for the other transaction's outcome.
 * Codes enter the pool in lookup-hash order: the unique index is filled in order, and
 * claims hand codes out in no guessable sequence.
 */
async function insertCodes(client: pg.PoolClient, s: string, batch: BatchRow, offerId: string, now: Date, options: { reportRejects?: boolean } = {}): Promise<number> {
  await client.query('analyze code_import_stage');
  const { rows } = await client.query<{ accepted: number }>(
    `
    with ranked as materialized (
      select line_no, lookup_hash, cipher, mask, expires_at,
             first_value(line_no) over (partition by lookup_hash order by line_no) as first_line
      from code_import_stage where reason is null
    ), in_file as (
      insert into ${s}.code_batch_rejects (batch_id, line_no, reason, detail, code_cipher)
      select $1, line_no, 'DUPLICATE_IN_FILE', 'first on line ' || first_line, cipher from ranked
      where $4 and line_no <> first_line
      returning 1
    ), inserted as (
      insert into ${s}.codes (offer_id, batch_id, lookup_hash, cipher, mask, status, expires_at, status_changed_at)
      select $2, $1, lookup_hash, cipher, mask, 'available', expires_at, $3 from ranked where line_no = first_line
      on conflict (lookup_hash) do nothing
      returning lookup_hash
    ), existing as (
      insert into ${s}.code_batch_rejects (batch_id, line_no, reason, detail, code_cipher)
      select $1, r.line_no, 'ALREADY_EXISTS', null, r.cipher from ranked r
      where $4 and r.line_no = r.first_line and not exists (select 1 from inserted i where i.lookup_hash = r.lookup_hash)
      returning 1
    )
    select (select count(*) from inserted)::integer as accepted, (select count(*) from in_file)::integer as in_file, (select count(*) from existing)::integer as existing`,
    [batch.id, offerId, now, options.reportRejects ?? false],
  );
  return rows[0]!.accepted;
}

/** Batches stuck as 'queued' (their job never reached Redis) or 'importing' with no progress (their worker died): enqueued again. */
export async function requeueStalledImports(
  services: AppServices,
  db: TenantDb,
  slug: string,
  options: { queuedForMs: number; silentForMs: number },
): Promise<number> {
  const now = services.clock.now().getTime();
  const stalled = await db
    .selectFrom('code_batches')
    .select('id')
    .where((eb) =>
      eb.or([
        eb.and([eb('status', '=', 'queued'), eb('queued_at', '<', new Date(now - options.queuedForMs))]),
        eb.and([eb('status', '=', 'importing'), eb('progress_at', '<', new Date(now - options.silentForMs))]),
      ]),
    )
    .execute();
  let requeued = 0;
  for (const batch of stalled) {
    if (!(await enqueueImport(services, slug, batch.id, { requeue: true }))) continue;
    requeued += 1;
    // Restart the clock, so a batch is queued again once per period, not once per sweep.
    await db
      .updateTable('code_batches')
      .set((eb) => ({ queued_at: eb.case().when('status', '=', 'queued').then(new Date(now)).else(eb.ref('queued_at')).end(), progress_at: new Date(now) }))
      .where('id', '=', batch.id)
      .execute();
  }
  return requeued;
}
