import type { TenantDb } from '../db/database.ts';
import type { TenantSchemaName } from '../db/schema-names.ts';
import type { PortalRole, TenantRole, TenantStatus } from '../db/tables.ts';

/** The tenant a request acts for, resolved once from its API key. */
export interface TenantHandle {
  id: string;
  slug: string;
  roles: TenantRole[];
  schema: TenantSchemaName;
  /** Kysely pinned to this tenant's schema: the only way request code reaches tenant tables. */
  db: TenantDb;
  rateLimitPerMinute: number | null;
  /** ISO 4217: every money amount of this tenant is in it. */
  currency: string;
  /** IANA zone of the tenant's calendar (per-period limits, reports). */
  timezone: string;
  /** Suspended tenants authenticate (their calls are counted) but are refused. */
  status: TenantStatus;
}

/** A person signed in to the portal (a session cookie instead of an API key). */
export interface PortalSessionUser {
  id: string;
  email: string;
  displayName: string;
  roles: PortalRole[];
  /** The tenant's display name, for the portal's header (null for operators). */
  tenantName: string | null;
}

/**
 * Who is calling. `keyId` names the caller in rate limits, logs and audit entries:
 * the API key's id, or the portal user's id (usr_…).
 */
export type Principal =
  | { kind: 'operator'; keyId: string; user?: PortalSessionUser }
  | { kind: 'tenant'; keyId: string; scopes: string[]; tenant: TenantHandle; user?: PortalSessionUser };
