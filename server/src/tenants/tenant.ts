import { z } from 'zod';
import { SLUG_PATTERN } from '../db/schema-names.ts';
import type { TenantRole, TenantStatus, TenantsTable } from '../db/tables.ts';
import type { Selectable } from 'kysely';

const CURRENCIES = new Set(Intl.supportedValuesOf('currency'));
const TIMEZONES = new Set([...Intl.supportedValuesOf('timeZone'), 'UTC']);

export const slugSchema = z
  .string()
  .regex(SLUG_PATTERN, 'must be 3-32 characters of lowercase letters, digits and single hyphens, starting with a letter');

export const timezoneSchema = z
  .string()
  .refine((value) => TIMEZONES.has(value), 'must be an IANA time zone such as "Europe/Moscow" or "UTC"');

export const currencySchema = z
  .string()
  .refine((value) => CURRENCIES.has(value), 'must be an ISO 4217 currency code in capitals, such as "RUB" or "EUR"');

export const tenantRoleSchema = z.enum(['issuer', 'partner'], { message: 'must be "issuer" or "partner"' });
export const tenantStatusSchema = z.enum(['active', 'suspended'], { message: 'must be "active" or "suspended"' });

export const tenantOutputSchema = z.object({
  slug: z.string(),
  displayName: z.string(),
  roles: z.array(tenantRoleSchema),
  status: tenantStatusSchema,
  timezone: z.string(),
  currency: z.string(),
  rateLimitPerMinute: z.number().int().nullable(),
  schemaVersion: z.string().nullable(),
  createdAt: z.string(),
});

export type Tenant = z.infer<typeof tenantOutputSchema>;

export function toTenant(row: Selectable<TenantsTable>): Tenant {
  return {
    slug: row.slug,
    displayName: row.display_name,
    roles: row.roles as TenantRole[],
    status: row.status as TenantStatus,
    timezone: row.timezone,
    currency: row.currency,
    rateLimitPerMinute: row.rate_limit_per_minute,
    schemaVersion: row.schema_version,
    createdAt: row.created_at.toISOString(),
  };
}
