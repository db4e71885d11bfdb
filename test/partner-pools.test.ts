import { gzipSync } from 'node:zlib';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, tenantDb, type Database } from '../server/src/db/database.ts';
import { tenantSchemaName } from '../server/src/db/schema-names.ts';
import type { WorkerHost } from '../server/src/jobs/worker-host.ts';
import { checkCharacter, hasValidCheckCharacter } from '../server/src/pools/check-character.ts';
import { claimCode, type PoolOwner } from '../server/src/pools/claim-code.ts';
import { DEFAULT_ALPHABET } from '../server/src/pools/generation.ts';
import { settleStockState } from '../server/src/pools/stock.ts';
import { sweepPartnerPools } from '../server/src/pools/sweep-pools.ts';
import { AppError } from '../server/src/errors/app-error.ts';
import { requireTenantRow } from '../server/src/tenants/get-tenant.ts';
import { keyFor, tenantWithKey, type TenantWithKey } from './support/factories.ts';
import { request } from './support/http-client.ts';
import { createOffer, exportCodes, rejectReport, startImportWorkers, uploadCsv, waitForBatch } from './support/partner.ts';
import { startTestSystem, type TestSystem } from './support/test-system.ts';

let system: TestSystem;
let workers: WorkerHost;
let shop: TenantWithKey;
let owner: PoolOwner;

beforeAll(async () => {
  system = await startTestSystem({ UPLOAD_LIMIT_BYTES: String(80 * 1024 * 1024) });
  workers = await startImportWorkers(system.services);
  shop = await tenantWithKey(system.services, { roles: ['partner'], scopes: ['admin'] });
  owner = { tenantId: (await requireTenantRow(system.services.db, shop.tenant.slug)).id, schema: tenantSchemaName(shop.tenant.slug) };
});
afterAll(async () => {
  await workers.close();
  await system.stop();
});

const EOLS = ['\r\n', '\n', '\r'];

/**
 * A realistic messy export: BOM, header, mixed line endings, quoted fields, lower-case
 * codes, blank lines, duplicates, bad rows of every kind and one 50 MB line. Returns
 * the file and what the import must make of it.
 */
function messyFile(rows: number) {
  const lines: string[] = ['\uFEFFcode,expires_at'];
  const accepted = new Map<string, number>();
  const rejects = new Map<number, { reason: string; code: string }>();
  const push = (text: string) => lines.push(text);
  for (let i = 0; i < rows; i++) {
    const lineNo = lines.length + 1;
    const code = `C${String(i).padStart(6, '0')}X`;
    const earlier = `C${String(i - 50).padStart(6, '0')}X`;
    if (i === rows / 2) {
      push('Z'.repeat(50 * 1024 * 1024));
      rejects.set(lineNo, { reason: 'ROW_TOO_LONG', code: 'Z'.repeat(40) });
    } else if (i > 0 && i % 100 === 0 && accepted.has(earlier)) {
      push(earlier);
      rejects.set(lineNo, { reason: 'DUPLICATE_IN_FILE', code: earlier });
    } else if (i % 250 === 1) {
      push('AB');
      rejects.set(lineNo, { reason: 'TOO_SHORT', code: 'AB' });
    } else if (i % 333 === 2) {
      push('BAD CODE!');
      rejects.set(lineNo, { reason: 'INVALID_CHARACTERS', code: 'BAD CODE!' });
    } else if (i % 500 === 3) {
      push(`${code},31/12/2099`);
      rejects.set(lineNo, { reason: 'INVALID_EXPIRY', code });
    } else if (i % 700 === 4) {
      push(`${code},2001-01-01`);
      rejects.set(lineNo, { reason: 'EXPIRY_IN_PAST', code });
    } else if (i % 900 === 5) {
      push(`"${code}","2099-12-31"`);
      accepted.set(code, lineNo);
    } else if (i % 1000 === 6) {
      push('');
      push(`  ${code.toLowerCase()}  `);
      accepted.set(code, lineNo + 1);
    } else {
      push(i % 3 === 0 ? code.toLowerCase() : code);
      accepted.set(code, lineNo);
    }
  }
  let text = '';
  lines.forEach((line, index) => (text += line + EOLS[index % 3]));
  return { text, accepted, rejects };
}

function parseReport(text: string): Map<number, { reason: string; code: string; detail: string }> {
  const out = new Map<number, { reason: string; code: string; detail: string }>();
  for (const line of text.split('\r\n').slice(1).filter(Boolean)) {
    const fields = line.match(/("([^"]|"")*"|[^,]*)(,|$)/g)!.map((field) => field.replace(/,$/, '').replace(/^"|"$/g, '').replace(/""/g, '"'));
    out.set(Number(fields[0]), { code: fields[1]!, reason: fields[2]!, detail: fields[3]! });
  }
  return out;
}

describe('offers', () => {
  it('validates offers and fixes defaults from the partner', async () => {
    const bad = await request(system.baseUrl, 'POST', '/api/v1/offers', {
      key: shop.key,
      body: { title: '', value: { type: 'percent', percent: 120 }, termsUrl: 'ftp://x', lowStockThreshold: -1, codeRules: { minLength: 10, maxLength: 5 } },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('VALIDATION_FAILED');
    const paths = bad.body.details.issues.map((issue: { path: string }) => issue.path);
    expect(paths).toEqual(expect.arrayContaining(['title', 'value.percent', 'termsUrl', 'lowStockThreshold', 'codeRules.maxLength']));
    expect((await request(system.baseUrl, 'GET', '/api/v1/offers', { key: shop.key })).body.offers).toEqual([]);

    const created = await createOffer(system.baseUrl, shop.key, { status: 'draft' });
    expect(created).toMatchObject({ status: 'draft', currency: 'RUB', stockState: 'empty', codeRules: { case: 'upper', minLength: 4, maxLength: 64 } });
  });

  it('moves through draft → active ⇄ paused → closed and nowhere else', async () => {
    const offer = await createOffer(system.baseUrl, shop.key, { status: 'draft' });
    const move = (status: string) => request(system.baseUrl, 'POST', `/api/v1/offers/${offer.id}/status`, { key: shop.key, body: { status } });
    expect((await move('paused')).body).toMatchObject({ code: 'OFFER_STATUS_TRANSITION', details: { allowed: ['active', 'closed'] } });
    expect((await move('active')).body.status).toBe('active');
    expect((await move('paused')).body.status).toBe('paused');
    expect((await move('active')).body.status).toBe('active');
    expect((await move('closed')).body.status).toBe('closed');
    expect((await move('active')).body.code).toBe('OFFER_STATUS_TRANSITION');
    const edit = await request(system.baseUrl, 'PATCH', `/api/v1/offers/${offer.id}`, { key: shop.key, body: { title: 'New title' } });
    expect(edit.body.code).toBe('OFFER_CLOSED');
    expect((await uploadCsv(system.baseUrl, shop.key, offer.id, 'CODE1234\n')).body.code).toBe('OFFER_CLOSED');
  });

  it('fixes the value once a code is issued, and the code rules once a batch exists', async () => {
    const offer = await createOffer(system.baseUrl, shop.key);
    const patch = (body: Record<string, unknown>) => request(system.baseUrl, 'PATCH', `/api/v1/offers/${offer.id}`, { key: shop.key, body });
    expect((await patch({ value: { type: 'fixed', amountMinor: 70_000 } })).body.value).toEqual({ type: 'fixed', amountMinor: 70_000 });
    expect((await patch({ codeRules: { case: 'preserve' } })).body.codeRules.case).toBe('preserve');

    const batch = await waitForBatch(system.baseUrl, shop.key, (await uploadCsv(system.baseUrl, shop.key, offer.id, 'AbCd1234\nEfGh5678\n')).body.id);
    expect(batch.progress.accepted).toBe(2);
    expect((await patch({ codeRules: { case: 'upper' } })).body.code).toBe('OFFER_CODE_RULES_LOCKED');
    // Before any code is issued the value may still change.
    expect((await patch({ value: { type: 'percent', percent: 12.5 } })).body.value).toEqual({ type: 'percent', percent: 12.5 });

    await system.services.db.transaction().execute((trx) => claimCode(trx, owner, offer.id, system.services.secrets, { now: new Date(), holderRef: 'voucher-1' }));
    const locked = await patch({ value: { type: 'percent', percent: 15 } });
    expect(locked.status).toBe(409);
    expect(locked.body.code).toBe('OFFER_VALUE_LOCKED');
    expect((await patch({ minOrderMinor: 1 })).body.code).toBe('OFFER_VALUE_LOCKED');
    // Texts still change; sending the same value is not a change.
    expect((await patch({ title: 'Renamed', value: { type: 'percent', percent: 12.5 } })).body.title).toBe('Renamed');
  });
});

describe('code upload', () => {
  it('imports a messy 30,000-row file: every valid code once, every bad row reported with its line', async () => {
    const offer = await createOffer(system.baseUrl, shop.key, { lowStockThreshold: 0 });
    const file = messyFile(30_000);
    const upload = await uploadCsv(system.baseUrl, shop.key, offer.id, file.text, { query: { filename: 'autumn.csv' } });
    expect(upload.status).toBe(202);
    expect(upload.headers.get('location')).toBe(`/api/v1/code-batches/${upload.body.id}`);
    expect(upload.body).toMatchObject({ status: 'queued', name: 'autumn.csv', progress: { bytesReceived: Buffer.byteLength(file.text) } });

    const batch = await waitForBatch(system.baseUrl, shop.key, upload.body.id);
    expect(batch.status).toBe('ready');
    expect(batch.progress).toMatchObject({ rowsRead: 30_000, accepted: file.accepted.size, rejected: file.rejects.size });
    expect(batch.codes).toMatchObject({ available: file.accepted.size, total: file.accepted.size });
    const byReason: Record<string, number> = {};
    for (const { reason } of file.rejects.values()) byReason[reason] = (byReason[reason] ?? 0) + 1;
    expect(batch.rejectsByReason).toEqual(byReason);

    const report = await rejectReport(system.baseUrl, shop.key, batch.id);
    expect(report.status).toBe(200);
    const rows = parseReport(report.text);
    expect([...rows.keys()].sort((a, b) => a - b)).toEqual([...file.rejects.keys()].sort((a, b) => a - b));
    for (const [line, expected] of file.rejects) {
      expect(rows.get(line)!.reason, `line ${line}`).toBe(expected.reason);
      expect(rows.get(line)!.code, `line ${line}`).toBe(expected.code);
    }
    const duplicate = [...rows.entries()].find(([, row]) => row.reason === 'DUPLICATE_IN_FILE')!;
    expect(duplicate[1].detail).toBe(`first on line ${file.accepted.get(duplicate[1].code)}`);

    const exported = await exportCodes(system.baseUrl, shop.key, offer.id);
    expect(exported.status).toBe(200);
    expect(new Set(exported.codes)).toEqual(new Set(file.accepted.keys()));
    expect(exported.codes).toHaveLength(file.accepted.size);
    // A row's own date wins over none; the quoted ones carried 2099-12-31 (end of day, Moscow).
    const quoted = exported.rows.find((row) => row[0] === 'C000905X')!;
    expect(quoted[2]).toBe('2099-12-31T21:00:00.000Z');

    // A second file overlapping the first: the overlap is reported, the rest lands.
    const overlap = [...file.accepted.keys()].slice(0, 100);
    const fresh = Array.from({ length: 100 }, (_, i) => `N${String(i).padStart(6, '0')}X`);
    const second = await waitForBatch(system.baseUrl, shop.key, (await uploadCsv(system.baseUrl, shop.key, offer.id, [...overlap, ...fresh].join('\n'))).body.id);
    expect(second.progress).toMatchObject({ rowsRead: 200, accepted: 100, rejected: 100 });
    expect(second.rejectsByReason).toEqual({ ALREADY_EXISTS: 100 });
    const pool = await request(system.baseUrl, 'GET', `/api/v1/offers/${offer.id}/pool`, { key: shop.key });
    expect(pool.body.counts).toMatchObject({ available: file.accepted.size + 100, total: file.accepted.size + 100 });
  }, 120_000);

  it('takes files without a header, with ; or tab delimiters, gzip-compressed, with a batch expiry', async () => {
    const offer = await createOffer(system.baseUrl, shop.key, { codeRules: { case: 'lower', minLength: 6, maxLength: 12, characters: 'abcdefghijklmnopqrstuvwxyz0123456789' } });
    const plain = ['alpha001', 'BETA0002;2099-01-01', 'gamma003;2099-01-01;extra', 'delta004 ;'].join('\n');
    const one = await waitForBatch(system.baseUrl, shop.key, (await uploadCsv(system.baseUrl, shop.key, offer.id, plain, { query: { delimiter: ';', expiresAt: '2098-06-01T00:00:00Z' } })).body.id);
    expect(one.progress).toMatchObject({ rowsRead: 4, accepted: 3, rejected: 1 });
    expect(one.rejectsByReason).toEqual({ TOO_MANY_COLUMNS: 1 });
    const exported = await exportCodes(system.baseUrl, shop.key, offer.id, { batchId: one.id });
    const expiry = Object.fromEntries(exported.rows.map((row) => [row[0], row[2]]));
    // The batch date applies unless the row's own date is earlier; lower case per the offer's rules.
    expect(expiry).toEqual({ alpha001: '2098-06-01T00:00:00.000Z', beta0002: '2098-06-01T00:00:00.000Z', delta004: '2098-06-01T00:00:00.000Z' });

    const gz = gzipSync(Buffer.from('code\tcomment\nepsilon5\tfirst\nzeta0006\tsecond\n'));
    const two = await uploadCsv(system.baseUrl, shop.key, offer.id, gz, { query: { delimiter: 'tab' }, headers: { 'content-encoding': 'gzip' } });
    expect(two.status).toBe(202);
    expect((await waitForBatch(system.baseUrl, shop.key, two.body.id)).progress).toMatchObject({ rowsRead: 2, accepted: 2, rejected: 0 });
  });

  it('refuses what it cannot take, and stores nothing for it', async () => {
    const offer = await createOffer(system.baseUrl, shop.key);
    const countBatches = async () => (await request(system.baseUrl, 'GET', `/api/v1/offers/${offer.id}/code-batches`, { key: shop.key })).body.batches.length;
    const json = await uploadCsv(system.baseUrl, shop.key, offer.id, '{"codes":[]}', { headers: { 'content-type': 'application/json' } });
    expect(json.status).toBe(415);
    expect(json.body.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect((await uploadCsv(system.baseUrl, shop.key, offer.id, 'X', { headers: { 'content-encoding': 'br' } })).status).toBe(415);
    expect((await uploadCsv(system.baseUrl, shop.key, offer.id, 'CODE1234', { query: { delimiter: 'x' } })).body.code).toBe('VALIDATION_FAILED');
    expect((await uploadCsv(system.baseUrl, shop.key, offer.id, 'CODE1234', { query: { expiresAt: '2001-01-01T00:00:00Z' } })).body.code).toBe('VALIDATION_FAILED');
    expect((await uploadCsv(system.baseUrl, shop.key, 'off_000000000000', 'CODE1234')).body.code).toBe('OFFER_NOT_FOUND');
    expect(await countBatches()).toBe(0);

    const empty = await uploadCsv(system.baseUrl, shop.key, offer.id, '');
    expect(empty.status).toBe(400);
    expect(empty.body.code).toBe('UPLOAD_EMPTY');

    // Streamed without a length, over the 80 MB limit: cut off with 413, no chunk kept.
    let sent = 0;
    const oversize = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 81 * 1024 * 1024) return controller.close();
        sent += 1024 * 1024;
        controller.enqueue(new Uint8Array(1024 * 1024).fill(65));
      },
    });
    const tooLarge = await uploadCsv(system.baseUrl, shop.key, offer.id, oversize);
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.body.code).toBe('PAYLOAD_TOO_LARGE');
    const batches = (await request(system.baseUrl, 'GET', `/api/v1/offers/${offer.id}/code-batches`, { key: shop.key })).body.batches;
    expect(batches.map((b: { status: string }) => b.status)).toEqual(['failed', 'failed']);
    const chunks = await tenantDb(system.services.db, owner.schema).selectFrom('code_batch_chunks').select('batch_id').where('batch_id', 'in', batches.map((b: { id: string }) => b.id)).execute();
    expect(chunks).toEqual([]);
    // Failed uploads checked no code against the offer's rules: the rules may still change.
    const rules = await request(system.baseUrl, 'PATCH', `/api/v1/offers/${offer.id}`, { key: shop.key, body: { codeRules: { case: 'preserve' } } });
    expect(rules.body.codeRules.case).toBe('preserve');
  });

  it('answers a retried upload with the same Idempotency-Key with the first batch', async () => {
    const offer = await createOffer(system.baseUrl, shop.key);
    const send = () => uploadCsv(system.baseUrl, shop.key, offer.id, 'RETRY001\nRETRY002\n', { headers: { 'idempotency-key': `upload-${offer.id}` } });
    const first = await send();
    const again = await send();
    expect(first.status).toBe(202);
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    expect((await request(system.baseUrl, 'GET', `/api/v1/offers/${offer.id}/code-batches`, { key: shop.key })).body.batches).toHaveLength(1);
  });

  it('needs pools:write and the partner role', async () => {
    const offer = await createOffer(system.baseUrl, shop.key);
    const redeemOnly = await keyFor(system.services, shop.tenant.slug, ['codes:redeem']);
    expect((await uploadCsv(system.baseUrl, redeemOnly.secret, offer.id, 'CODE1234')).body.code).toBe('FORBIDDEN');
    expect((await uploadCsv(system.baseUrl, 'cx_live_nope_nope', offer.id, 'CODE1234')).status).toBe(401);
    const issuer = await tenantWithKey(system.services, { roles: ['issuer'] });
    expect((await uploadCsv(system.baseUrl, issuer.key, offer.id, 'CODE1234')).body.code).toBe('ROLE_REQUIRED');
  });
});

describe('code generation', () => {
  it('generates the requested count of distinct codes in the asked format, with check characters', async () => {
    const offer = await createOffer(system.baseUrl, shop.key, { lowStockThreshold: 0 });
    const res = await request(system.baseUrl, 'POST', `/api/v1/offers/${offer.id}/code-batches/generate`, {
      key: shop.key,
      body: { count: 20_000, prefix: 'AUT-', length: 8, checkCharacter: true },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ kind: 'generated', status: 'queued', generation: { count: 20_000, prefix: 'AUT-', length: 8, alphabet: DEFAULT_ALPHABET, checkCharacter: true } });
    const batch = await waitForBatch(system.baseUrl, shop.key, res.body.id);
    expect(batch.progress).toMatchObject({ accepted: 20_000, rejected: 0 });
    const { codes } = await exportCodes(system.baseUrl, shop.key, offer.id);
    expect(new Set(codes).size).toBe(20_000);
    for (const code of codes) {
      expect(code).toMatch(/^AUT-[ABCDEFGHJKMNPQRSTUVWXYZ2-9]{9}$/);
      expect(hasValidCheckCharacter(code.slice(4), DEFAULT_ALPHABET)).toBe(true);
    }
    const listed = await request(system.baseUrl, 'GET', `/api/v1/offers/${offer.id}/codes?limit=3`, { key: shop.key });
    expect(listed.body.codes[0].mask).toMatch(/^AUT-•{7}[A-Z2-9]{2}$/);
  }, 60_000);

  it('refuses uploaded codes that would be refused at the till as mistyped: shaped like a check-character format, failing its check', async () => {
    const offer = await createOffer(system.baseUrl, shop.key, { lowStockThreshold: 0 });
    const generated = await request(system.baseUrl, 'POST', `/api/v1/offers/${offer.id}/code-batches/generate`, {
      key: shop.key,
      body: { count: 10, prefix: 'CHK-', length: 8, checkCharacter: true },
    });
    expect(generated.status).toBe(200);
    await waitForBatch(system.baseUrl, shop.key, generated.body.id);
    const body = 'KQ2MX9PH';
    const good = `CHK-${body}${checkCharacter(body, DEFAULT_ALPHABET)}`;
    const wrongCheck = DEFAULT_ALPHABET.split('').find((char) => char !== checkCharacter(body, DEFAULT_ALPHABET))!;
    const bad = `CHK-${body}${wrongCheck}`;
    // Other shapes are the partner's own business: another prefix, another length, a character outside the alphabet.
    const unrelated = ['CHX-KQ2MX9PHA', 'CHK-KQ2MX9PHAB', 'CHK-KQ2MX9P1A'];
    const upload = await uploadCsv(system.baseUrl, shop.key, offer.id, `code\n${good}\n${bad.toLowerCase()}\n${unrelated.join('\n')}\n`);
    const batch = await waitForBatch(system.baseUrl, shop.key, upload.body.id);
    expect(batch.progress).toMatchObject({ accepted: 1 + unrelated.length, rejected: 1 });
    const report = await rejectReport(system.baseUrl, shop.key, upload.body.id);
    expect(report.text.split('\r\n')[1]).toBe(`3,${bad},CHECK_CHARACTER_CONFLICT,"looks like one of your generated codes with a check character, but fails the check"`);
  });

  it('refuses a check-character format that would make codes the partner already has look mistyped', async () => {
    const offer = await createOffer(system.baseUrl, shop.key, { lowStockThreshold: 0 });
    const body = 'ZZ2MX9PH';
    const failing = `NEW-${body}${DEFAULT_ALPHABET.split('').find((char) => char !== checkCharacter(body, DEFAULT_ALPHABET))!}`;
    const upload = await uploadCsv(system.baseUrl, shop.key, offer.id, `code\n${failing}\nNEW-ZZ2MX9P\n`);
    expect((await waitForBatch(system.baseUrl, shop.key, upload.body.id)).progress.accepted).toBe(2);
    const generate = (prefix: string) =>
      request(system.baseUrl, 'POST', `/api/v1/offers/${offer.id}/code-batches/generate`, { key: shop.key, body: { count: 10, prefix, length: 8, checkCharacter: true } });
    const refused = await generate('NEW-');
    expect(refused.status).toBe(422);
    expect(refused.body).toMatchObject({ code: 'CHECK_CHARACTER_FORMAT_CONFLICT', details: { conflictingCodes: 1, prefix: 'NEW-', length: 8 } });
    expect(refused.body.details.exampleMask).toMatch(/^•+/);
    expect(refused.body.details.exampleMask).not.toContain(body);
    expect((await request(system.baseUrl, 'GET', `/api/v1/offers/${offer.id}/code-batches`, { key: shop.key })).body.batches).toHaveLength(1);
    // Another prefix fits nothing the partner has.
    expect((await generate('NEU-')).status).toBe(200);
  });

  it('refuses generated formats that overlap one with a check character, in either order', async () => {
    const offer = await createOffer(system.baseUrl, shop.key, { lowStockThreshold: 0 });
    const generate = (body: Record<string, unknown>) => request(system.baseUrl, 'POST', `/api/v1/offers/${offer.id}/code-batches/generate`, { key: shop.key, body: { count: 10, ...body } });
    expect((await generate({ prefix: 'GIFT-', length: 8, checkCharacter: true })).status).toBe(200);
    // Without a check character, one character longer: the same shape; most of its codes would look mistyped.
    const unchecked = await generate({ prefix: 'GIFT-', length: 9 });
    expect(unchecked.status).toBe(422);
    expect(unchecked.body).toMatchObject({ code: 'CHECK_CHARACTER_FORMAT_CONFLICT', details: { conflictingFormat: { prefix: 'GIFT-', length: 8, checkCharacter: true } } });
    // The other way round, before the unchecked batch is even imported.
    expect((await generate({ prefix: 'CARD-', length: 9 })).status).toBe(200);
    const checked = await generate({ prefix: 'CARD-', length: 8, checkCharacter: true });
    expect(checked.body).toMatchObject({ code: 'CHECK_CHARACTER_FORMAT_CONFLICT', details: { conflictingFormat: { prefix: 'CARD-', length: 9, checkCharacter: false } } });
    // Shapes that cannot meet are fine: another length, another prefix.
    expect((await generate({ prefix: 'GIFT-', length: 10 })).status).toBe(200);
    expect((await generate({ prefix: 'GIFU-', length: 9 })).status).toBe(200);
    const batches = (await request(system.baseUrl, 'GET', `/api/v1/offers/${offer.id}/code-batches`, { key: shop.key })).body.batches;
    expect(batches).toHaveLength(4);
  });

  it('refuses a count that would make collisions likely, naming the length that would do', async () => {
    const offer = await createOffer(system.baseUrl, shop.key);
    const res = await request(system.baseUrl, 'POST', `/api/v1/offers/${offer.id}/code-batches/generate`, { key: shop.key, body: { count: 1_000_000, length: 8 } });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ code: 'CODE_SPACE_TOO_SMALL', details: { minimumLength: 10, alphabetSize: 31 } });
    expect(res.body.message).toContain('at least 10 characters');
    const rules = await request(system.baseUrl, 'POST', `/api/v1/offers/${offer.id}/code-batches/generate`, { key: shop.key, body: { count: 10, length: 70 } });
    expect(rules.body.code).toBe('VALIDATION_FAILED');
    const lower = await request(system.baseUrl, 'POST', `/api/v1/offers/${offer.id}/code-batches/generate`, { key: shop.key, body: { count: 10, alphabet: 'abcdefgh' } });
    expect(lower.body.message).toContain('upper case');
    expect((await request(system.baseUrl, 'GET', `/api/v1/offers/${offer.id}/code-batches`, { key: shop.key })).body.batches).toEqual([]);
  });
});

describe('codes are bearer secrets', () => {
  it('lists codes masked only; full codes leave through the audited export alone', async () => {
    const offer = await createOffer(system.baseUrl, shop.key);
    const codes = Array.from({ length: 40 }, (_, i) => `SECRET${String(i).padStart(4, '0')}Q`);
    const batch = await waitForBatch(system.baseUrl, shop.key, (await uploadCsv(system.baseUrl, shop.key, offer.id, codes.join('\n'))).body.id);

    const page1 = await request(system.baseUrl, 'GET', `/api/v1/offers/${offer.id}/codes?limit=25`, { key: shop.key });
    const page2 = await request(system.baseUrl, 'GET', `/api/v1/offers/${offer.id}/codes?limit=25&after=${page1.body.next}`, { key: shop.key });
    expect(page1.body.codes).toHaveLength(25);
    expect(page2.body.codes).toHaveLength(15);
    expect(page2.body.next).toBeNull();
    const listed = JSON.stringify([page1.body, page2.body, await request(system.baseUrl, 'GET', `/api/v1/code-batches/${batch.id}`, { key: shop.key })]);
    for (const code of codes) expect(listed).not.toContain(code);
    const masks = [...page1.body.codes, ...page2.body.codes].map((c: { mask: string; status: string; batchId: string }) => {
      expect(c).toMatchObject({ status: 'available', batchId: batch.id });
      return c.mask;
    });
    expect(masks.sort()).toEqual(codes.map((code) => `${'•'.repeat(9)}${code.slice(-2)}`).sort());

    const found = await request(system.baseUrl, 'POST', '/api/v1/codes/find', { key: shop.key, body: { code: 'secret0007q' } });
    expect(found.body).toMatchObject({ status: 'available', mask: `${'•'.repeat(9)}7Q` });
    expect((await request(system.baseUrl, 'POST', '/api/v1/codes/find', { key: shop.key, body: { code: 'NOPE0000' } })).body.code).toBe('CODE_NOT_FOUND');

    const poolsOnly = await keyFor(system.services, shop.tenant.slug, ['pools:write']);
    const refused = await exportCodes(system.baseUrl, poolsOnly.secret, offer.id);
    expect(refused.status).toBe(403);
    const noReason = await fetch(`${system.baseUrl}/api/v1/offers/${offer.id}/codes/export`, {
      method: 'POST',
      headers: { authorization: `Bearer ${shop.key}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(noReason.status).toBe(400);

    const exporter = await keyFor(system.services, shop.tenant.slug, ['codes:export']);
    const exported = await exportCodes(system.baseUrl, exporter.secret, offer.id, { reason: 'Re-printing flyers' });
    expect([...exported.codes].sort()).toEqual(codes);
    const audit = await request(system.baseUrl, 'GET', '/api/v1/audit-events?limit=50', { key: shop.key });
    const entry = audit.body.events.find((event: { action: string; subjectId: string }) => event.action === 'codes.exported' && event.subjectId === offer.id);
    expect(entry).toMatchObject({ actor: exporter.apiKey.id, details: { reason: 'Re-printing flyers', count: 40, status: 'available' } });

    // Nothing in the database holds a code in plain text.
    const { rows } = await sql<{ t: string }>`
      select concat_ws('|', encode(cipher, 'escape'), mask, encode(lookup_hash, 'escape')) as t from ${sql.table(`${owner.schema}.codes`)} where batch_id = ${batch.id}`.execute(system.services.db);
    for (const row of rows) for (const code of codes) expect(row.t).not.toContain(code);
  });
});

describe('claimCode', () => {
  async function poolOf(size: number, threshold: number) {
    const offer = await createOffer(system.baseUrl, shop.key, { lowStockThreshold: threshold });
    const codes = Array.from({ length: size }, (_, i) => `${offer.id.slice(4, 10).toUpperCase()}${String(i).padStart(5, '0')}`);
    await waitForBatch(system.baseUrl, shop.key, (await uploadCsv(system.baseUrl, shop.key, offer.id, codes.join('\n'))).body.id);
    return { offerId: offer.id, codes };
  }

  it('hands each code out at most once to hundreds of concurrent claimers: exactly pool-size succeed', async () => {
    const { offerId, codes } = await poolOf(60, 10);
    // Two separate pools, like two server processes, 30 connections each.
    const dbs: Database[] = [0, 1].map(() => createDatabase({ url: system.env.DATABASE_URL!, poolMax: 30 }));
    try {
      const outcomes = await Promise.all(
        Array.from({ length: 400 }, (_, i) =>
          dbs[i % 2]!
            .transaction()
            .execute((trx) => claimCode(trx, owner, offerId, system.services.secrets, { now: new Date(), holderRef: `v-${i}` }))
            .then(
              (claimed) => ({ ok: true as const, claimed }),
              (error: unknown) => ({ ok: false as const, code: error instanceof AppError ? error.code : String(error) }),
            ),
        ),
      );
      const won = outcomes.flatMap((o) => (o.ok ? [o.claimed] : []));
      const lost = outcomes.flatMap((o) => (o.ok ? [] : [o.code]));
      expect(won).toHaveLength(60);
      expect(new Set(lost)).toEqual(new Set(['POOL_EXHAUSTED']));
      expect(new Set(won.map((c) => c.code))).toEqual(new Set(codes));
    } finally {
      await Promise.all(dbs.map((db) => db.destroy()));
    }
    const rows = await tenantDb(system.services.db, owner.schema).selectFrom('codes').select(['status', 'holder_ref']).where('offer_id', '=', offerId).execute();
    expect(rows.every((row) => row.status === 'issued')).toBe(true);
    expect(new Set(rows.map((row) => row.holder_ref)).size).toBe(60);
    // Crossing the watermark wrote one event. The claim that took the last code may have
    // still counted codes other claims held uncommitted: then a refused claimer settles
    // the state (the exchange does so after POOL_EXHAUSTED), or the sweep does.
    await settleStockState(tenantDb(system.services.db, owner.schema), offerId, new Date());
    await settleStockState(tenantDb(system.services.db, owner.schema), offerId, new Date());
    expect((await request(system.baseUrl, 'GET', `/api/v1/offers/${offerId}`, { key: shop.key })).body.stockState).toBe('empty');
    const events = await tenantDb(system.services.db, owner.schema).selectFrom('outbox_events').select(['event_type', 'payload']).where(sql<boolean>`payload->>'offerId' = ${offerId}`).execute();
    expect(events.filter((e) => e.event_type === 'pool.low')).toHaveLength(1);
    expect(events.filter((e) => e.event_type === 'pool.empty')).toHaveLength(1);
    // The sweep finds nothing left to say.
    await sweepPartnerPools(system.services, tenantDb(system.services.db, owner.schema), shop.tenant.slug, owner.tenantId);
    const swept = await tenantDb(system.services.db, owner.schema).selectFrom('outbox_events').select('id').where(sql<boolean>`payload->>'offerId' = ${offerId}`).execute();
    expect(swept).toHaveLength(events.length);
  }, 60_000);

  it('gives a rolled-back claim’s code back, skips expired codes, and refuses inactive offers', async () => {
    const { offerId } = await poolOf(3, 0);
    const claim = (holderRef: string, now = new Date()) =>
      system.services.db.transaction().execute((trx) => claimCode(trx, owner, offerId, system.services.secrets, { now, holderRef }));
    await expect(
      system.services.db.transaction().execute(async (trx) => {
        await claimCode(trx, owner, offerId, system.services.secrets, { now: new Date(), holderRef: 'rolled-back' });
        throw new Error('exchange failed later');
      }),
    ).rejects.toThrow('exchange failed later');
    const first = await claim('v1');
    expect(first.status).toBe('issued');
    await request(system.baseUrl, 'POST', `/api/v1/offers/${offerId}/status`, { key: shop.key, body: { status: 'paused' } });
    await expect(claim('v2')).rejects.toMatchObject({ code: 'OFFER_NOT_ACTIVE' });
    await request(system.baseUrl, 'POST', `/api/v1/offers/${offerId}/status`, { key: shop.key, body: { status: 'active' } });
    await claim('v2');
    await claim('v3');
    await expect(claim('v4')).rejects.toMatchObject({ code: 'POOL_EXHAUSTED' });
  });
});
