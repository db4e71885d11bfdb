import type { ColumnType, Generated } from 'kysely';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;

// ---- coalition schema: the registry and facts shared by two tenants -------------

export type TenantRole = 'issuer' | 'partner';
export type TenantStatus = 'active' | 'suspended';

export interface TenantsTable {
  id: Generated<string>;
  slug: string;
  display_name: string;
  roles: TenantRole[];
  status: ColumnType<TenantStatus, TenantStatus | undefined, TenantStatus>;
  timezone: string;
  currency: string;
  /** Overrides RATE_LIMIT_KEY_PER_MINUTE for this tenant's keys; null = default. */
  rate_limit_per_minute: number | null;
  /** Name of the last tenant migration applied to this tenant's schema. */
  schema_version: string | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export type ApiKeyKind = 'tenant' | 'operator';

export interface ApiKeysTable {
  id: string;
  kind: ApiKeyKind;
  tenant_id: string | null;
  name: string;
  scopes: string[];
  /** SHA-256 of the secret part; the secret itself is shown once and never stored. */
  secret_hash: string;
  created_at: Generated<Date>;
  created_by: string | null;
  revoked_at: Timestamp | null;
  last_used_at: Timestamp | null;
}

export interface CoalitionTables {
  tenants: TenantsTable;
  api_keys: ApiKeysTable;
}

// ---- tenant_<slug> schemas: one tenant's own data -------------------------------

export interface AuditEventsTable {
  id: Generated<string>;
  occurred_at: Generated<Date>;
  /** API key id of the actor, or 'cli' / 'system'. */
  actor: string;
  action: string;
  subject_type: string;
  subject_id: string;
  details: ColumnType<Record<string, unknown>, string, string>;
}

export interface TenantTables {
  audit_events: AuditEventsTable;
}
