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

/** The partner's check-character formats: every generated batch that asked for one (not failed). */
export async function loadCheckedFormats(db: TenantDb): Promise<CheckedFormat[]> {
  const rows = await db
    .selectFrom('code_batches')
    .select([
      sql<string>`source->'generation'->>'prefix'`.as('prefix'),
      sql<number>`(source->'generation'->>'length')::int`.as('length'),
      sql<string>`source->'generation'->>'alphabet'`.as('alphabet'),
    ])
    .distinct()
    .where('kind', '=', 'generated')
    .where('status', '<>', 'failed')
    .where(sql<boolean>`(source->'generation'->>'checkCharacter')::boolean`)
    .execute();
  return rows;
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
