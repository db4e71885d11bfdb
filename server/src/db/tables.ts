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

type Json<T> = ColumnType<T, string, string>;

export interface IssuerSettingsTable {
  id: Generated<boolean>;
  auto_enrol: Generated<boolean>;
  /** ISO 3166 region for phone numbers written without a country code; null = international format only. */
  phone_region: string | null;
  expiring_soon_days: Generated<number>;
  updated_at: Generated<Date>;
}

export interface IdempotencyKeysTable {
  key: string;
  operation: string;
  fingerprint: string;
  response: Json<unknown>;
  created_at: Generated<Date>;
}

export interface OutboxEventsTable {
  id: Generated<string>;
  event_type: string;
  payload: Json<Record<string, unknown>>;
  occurred_at: Date;
  dispatched_at: Date | null;
}

export interface CampaignMilestone {
  stickers: number;
  label: string;
}

export interface CampaignsTable {
  id: string;
  name: string;
  description: string;
  terms: string;
  starts_at: Date;
  ends_at: Date;
  burn_at: Date;
  /** null = every store of the issuer. */
  store_codes: string[] | null;
  milestones: Json<CampaignMilestone[]>;
  expiring_notified_at: Date | null;
  burned_at: Date | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface CampaignRuleVersionsTable {
  id: Generated<string>;
  campaign_id: string;
  effective_from: Date;
  rules: Json<unknown>;
  created_by: string;
  created_at: Generated<Date>;
}

export interface CustomersTable {
  id: string;
  card_number: string | null;
  /** Keyed hash of the E.164 number; the number itself is not stored. */
  phone_hash: string | null;
  /** Last digits, for a support agent to confirm the number with the customer. */
  phone_hint: string | null;
  blocked_at: Date | null;
  blocked_reason: string | null;
  enrolled_via: string;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface PurchasesTable {
  id: string;
  store_code: string;
  terminal_id: string;
  cashier_id: string | null;
  receipt_id: string;
  occurred_at: Date;
  recorded_at: Date;
  customer_id: string;
  total_minor: ColumnType<string, number | string, number | string>;
  lines: Json<unknown>;
}

export interface PurchaseReturnsTable {
  id: string;
  purchase_id: string;
  return_id: string;
  occurred_at: Date;
  recorded_at: Date;
  returned_minor: ColumnType<string, number | string, number | string>;
  lines: Json<unknown> | null;
}

export type LedgerKind = 'accrual' | 'reversal' | 'spend' | 'expiry' | 'adjustment';

export interface StickerLedgerTable {
  id: Generated<string>;
  customer_id: string;
  campaign_id: string;
  kind: LedgerKind;
  amount: number;
  /** When the amount counts as available; later = pending until then. */
  available_at: Date;
  recorded_at: Date;
  purchase_id: string | null;
  return_id: string | null;
  actor: string | null;
  reason: string | null;
  reference: string | null;
}

export interface TenantTables {
  audit_events: AuditEventsTable;
  issuer_settings: IssuerSettingsTable;
  idempotency_keys: IdempotencyKeysTable;
  outbox_events: OutboxEventsTable;
  campaigns: CampaignsTable;
  campaign_rule_versions: CampaignRuleVersionsTable;
  customers: CustomersTable;
  purchases: PurchasesTable;
  purchase_returns: PurchaseReturnsTable;
  sticker_ledger: StickerLedgerTable;
}
