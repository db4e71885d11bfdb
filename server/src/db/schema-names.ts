import { AppError } from '../errors/app-error.ts';

/**
 * Slugs name tenant schemas, so their alphabet is what keeps SQL identifiers safe:
 * lowercase letters, digits and single hyphens. Underscores are not allowed, which
 * keeps the slug -> schema mapping one-to-one ("a-b" -> tenant_a_b).
 */
export const SLUG_PATTERN = /^[a-z](?:[a-z0-9]|-(?=[a-z0-9])){2,31}$/;

export const COALITION_SCHEMA = 'coalition';

declare const tenantSchemaBrand: unique symbol;
/** A schema name built from a validated slug; the only string withSchema() may get for tenant data. */
export type TenantSchemaName = string & { readonly [tenantSchemaBrand]: true };

export function isValidSlug(slug: string): boolean {
  return SLUG_PATTERN.test(slug);
}

export function assertValidSlug(slug: string): void {
  if (!isValidSlug(slug)) {
    throw new AppError(
      'INVALID_SLUG',
      'A tenant slug must be 3-32 characters of lowercase letters, digits and single hyphens, starting with a letter (e.g. "green-grocer").',
      { slug: slug.slice(0, 64) },
    );
  }
}

export function tenantSchemaName(slug: string): TenantSchemaName {
  assertValidSlug(slug);
  return `tenant_${slug.replaceAll('-', '_')}` as TenantSchemaName;
}
