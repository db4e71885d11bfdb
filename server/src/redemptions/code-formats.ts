import { sql, type Kysely } from 'kysely';
import type { TenantHandle } from '../auth/principal.ts';
import { tenantDb, type TenantDb } from '../db/database.ts';
import { checkCharacter } from '../pools/check-character.ts';

/** A format of generated codes that end in a check character. */
export interface CheckedFormat {
  prefix: string;
  length: number;
  alphabet: string;
}

/** Both cases of a letter in one alphabet: such an alphabet is case-sensitive. */
function caseSensitive(alphabet: string): boolean {
  return new Set(alphabet.toUpperCase()).size !== alphabet.length;
}

/**
 * `typed` against a format: 'other' when it does not have the format's shape (prefix,
 * length, alphabet), else whether its last character is the check character of the
 * random part. Case is ignored unless the alphabet tells the cases apart. Lookups always
 * ignore case, so with such an alphabet a failing check may be the right code typed in
 * another case: that is never 'fails' (the lookup decides).
 */
export function checkAgainst(format: CheckedFormat, typed: string): 'other' | 'passes' | 'fails' {
  const sensitive = caseSensitive(format.alphabet);
  const norm = sensitive ? (value: string) => value : (value: string) => value.toUpperCase();
  const code = norm(typed);
  const prefix = norm(format.prefix);
  const alphabet = norm(format.alphabet);
  if (code.length !== prefix.length + format.length + 1 || !code.startsWith(prefix)) return 'other';
  const rest = code.slice(prefix.length);
  for (const char of rest) if (!alphabet.includes(char)) return 'other';
  if (checkCharacter(rest.slice(0, -1), alphabet) === rest.at(-1)) return 'passes';
  return sensitive ? 'other' : 'fails';
}

/**
 * A code refused before any lookup: it has the shape of one of the partner's
 * check-character formats, fails that check, and passes no other format's.
 */
export function mistypedCode(formats: readonly CheckedFormat[], typed: string): boolean {
  const results = formats.map((format) => checkAgainst(format, typed));
  return results.includes('fails') && !results.includes('passes');
}

/** The shape of a generated batch's codes: prefix, then `length` characters of `alphabet` (check character included). */
export interface CodeShape {
  prefix: string;
  length: number;
  alphabet: string;
}

/**
 * True when some code could have both shapes, compared as lookups compare codes
 * (without regard to case): the same total length, and at every position a character
 * both allow.
 */
export function shapesOverlap(a: CodeShape, b: CodeShape): boolean {
  const total = a.prefix.length + a.length;
  if (total !== b.prefix.length + b.length) return false;
  const allowed = (shape: CodeShape, i: number) => new Set((i < shape.prefix.length ? shape.prefix[i]! : shape.alphabet).toUpperCase());
  for (let i = 0; i < total; i++) {
    const left = allowed(a, i);
    if (![...allowed(b, i)].some((char) => left.has(char))) return false;
  }
  return true;
}

/** A check-character format as a shape: its codes end in one more character of the alphabet. */
export function shapeOfChecked(format: CheckedFormat): CodeShape {
  return { prefix: format.prefix, length: format.length + 1, alphabet: format.alphabet };
}

/** Every generated batch's format (not failed), with whether it has a check character. */
export async function loadGeneratedFormats(db: TenantDb): Promise<Array<CheckedFormat & { checkCharacter: boolean }>> {
  return db
    .selectFrom('code_batches')
    .select([
      sql<string>`source->'generation'->>'prefix'`.as('prefix'),
      sql<number>`(source->'generation'->>'length')::int`.as('length'),
      sql<string>`source->'generation'->>'alphabet'`.as('alphabet'),
      sql<boolean>`coalesce((source->'generation'->>'checkCharacter')::boolean, false)`.as('checkCharacter'),
    ])
    .distinct()
    .where('kind', '=', 'generated')
    .where('status', '<>', 'failed')
    .execute();
}

/** Advisory lock class: a partner's code formats, taken by generation (exclusive) and uploads' imports (shared). */
const CODE_FORMATS_LOCK = 7_302_115;

/**
 * Serialises what could make a code look mistyped: a generation with or beside a
 * check-character format (exclusive) against imports of uploaded files (shared), so
 * each sees the other's codes or formats. Transaction-scoped.
 */
export async function lockCodeFormats(db: Kysely<any>, tenantId: string, mode: 'exclusive' | 'shared'): Promise<void> {
  if (mode === 'exclusive') await sql`select pg_advisory_xact_lock(${CODE_FORMATS_LOCK}, hashtext(${tenantId}))`.execute(db);
  else await sql`select pg_advisory_xact_lock_shared(${CODE_FORMATS_LOCK}, hashtext(${tenantId}))`.execute(db);
}

/** The partner's check-character formats: every generated batch that asked for one (not failed). */
export async function loadCheckedFormats(db: TenantDb): Promise<CheckedFormat[]> {
  return (await loadGeneratedFormats(db)).filter((format) => format.checkCharacter).map(({ prefix, length, alphabet }) => ({ prefix, length, alphabet }));
}

const TTL_MS = 60_000;

/**
 * Each partner's check-character formats, kept in memory for a minute, so a mistyped
 * code costs no database round trip. A format created in another process is unknown
 * here for up to a minute: its codes are then looked up (and a mistyped one is
 * UNKNOWN_CODE), never wrongly refused.
 */
export class CodeFormatCache {
  private readonly entries = new Map<string, { formats: CheckedFormat[]; loadedAt: number }>();

  /**
   * `db`: the caller's handle, a transaction if it runs in one (a second pool
   * connection taken while a transaction holds one can starve the pool under load).
   */
  async formatsOf(tenant: Pick<TenantHandle, 'id' | 'schema'>, db: Kysely<any>): Promise<CheckedFormat[]> {
    const entry = this.entries.get(tenant.id);
    if (entry && Date.now() - entry.loadedAt < TTL_MS) return entry.formats;
    const formats = await loadCheckedFormats(tenantDb(db, tenant.schema));
    this.entries.set(tenant.id, { formats, loadedAt: Date.now() });
    return formats;
  }

  forget(tenantId: string): void {
    this.entries.delete(tenantId);
  }
}
