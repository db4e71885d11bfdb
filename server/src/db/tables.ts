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

export type AgreementModel = 'issuer_pays_per_issued' | 'issuer_pays_per_redeemed' | 'partner_pays_per_redeemed' | 'partner_pays_percent_of_order';
export type AgreementStatus = 'proposed' | 'active' | 'suspended' | 'ended' | 'declined' | 'withdrawn';

export interface AgreementsTable {
  id: string;
  name: string;
  issuer_tenant_id: string;
  partner_tenant_id: string;
  offer_ids: string[];
  model: AgreementModel;
  amount_minor: ColumnType<string, number | string, number | string> | null;
  percent: ColumnType<string, number | string, number | string> | null;
  currency: string;
  /** IANA zone whose calendar months bound the monthly cap and the settlement periods. */
  timezone: string;
  valid_from: Date;
  valid_until: Date | null;
  monthly_cap: number | null;
  status: AgreementStatus;
  /** null = proposed by the coalition operator. */
  proposed_by_tenant_id: string | null;
  proposed_by: string;
  proposed_at: Date;
  accepted_by: string | null;
  accepted_at: Date | null;
  /** Side of the last suspend / resume / end; null with status_changed_at set = the operator. */
  status_changed_by_tenant_id: string | null;
  status_changed_by: string | null;
  status_changed_at: Date | null;
  status_reason: string | null;
  created_at: Date;
  updated_at: Date;
}

export interface AgreementUsageTable {
  agreement_id: string;
  /** First day of the month, in the agreement's time zone. */
  period: string;
  issued: number;
}

export interface SigningKeysTable {
  kid: string;
  seq: Generated<string>;
  tenant_id: string;
  algorithm: 'EdDSA';
  public_jwk: Json<Record<string, string>>;
  private_key_cipher: Buffer;
  created_at: Date;
  created_by: string;
  activates_at: Date;
  revoked_at: Date | null;
  revoked_by: string | null;
  revoke_reason: string | null;
}

export type VoucherStatus = 'issued' | 'redeemed' | 'cancelled';
export type CodeDisposition = 'returned_to_pool' | 'voided';

export interface VouchersTable {
  id: string;
  issuer_tenant_id: string;
  partner_tenant_id: string;
  agreement_id: string;
  reward_id: string;
  campaign_id: string;
  customer_id: string;
  offer_id: string;
  code_id: string;
  code_mask: string;
  stickers: number;
  terms: Json<Record<string, unknown>>;
  kid: string;
  status: VoucherStatus;
  issued_at: Date;
  expires_at: Date;
  /** The agreement_usage month this voucher counted in (capped agreements only). */
  usage_period: string | null;
  redeemed_at: Date | null;
  cancelled_at: Date | null;
  cancelled_by: string | null;
  cancel_reason: string | null;
  code_disposition: CodeDisposition | null;
  stickers_refunded: number | null;
}

export type SettlementEvent = 'code_issued' | 'issue_cancelled' | 'code_redeemed' | 'redemption_reversed' | 'adjustment';

export interface SettlementEntriesTable {
  id: Generated<string>;
  agreement_id: string;
  /** null on a dispute adjustment. */
  voucher_id: string | null;
  /** The voucher's offer (null on a dispute adjustment). */
  offer_id: string | null;
  /** For a correction (reversal, cancellation, adjustment): the period it corrects; null = its own. */
  relates_to_period: string | null;
  /** Adjustments: the statement whose dispute (or correction) they settle, and why. */
  statement_ref: string | null;
  note: string | null;
  /** Adjustments: the key that recorded them. */
  created_by: string | null;
  /** Set on code_redeemed and redemption_reversed entries. */
  redemption_id: string | null;
  event: SettlementEvent;
  payer_tenant_id: string;
  payee_tenant_id: string;
  /** Owed by payer to payee; negative for a reversal of an earlier entry. */
  amount_minor: ColumnType<string, number | string, number | string>;
  currency: string;
  order_amount_minor: ColumnType<string, number | string, number | string> | null;
  occurred_at: Date;
  /** First day of the calendar month of occurred_at, in the agreement's time zone. */
  period: string;
  recorded_at: Generated<Date>;
}

export type StatementStatus = 'draft' | 'finalized' | 'paid' | 'disputed';

export interface SettlementStatementsTable {
  id: string;
  agreement_id: string;
  issuer_tenant_id: string;
  partner_tenant_id: string;
  payer_tenant_id: string;
  payee_tenant_id: string;
  /** First day of the month, in the agreement's time zone. */
  period: string;
  timezone: string;
  period_start: Date;
  period_end: Date;
  status: StatementStatus;
  document: string | null;
  content_hash: string | null;
  totals: Json<unknown> | null;
  entry_count: ColumnType<number, number | undefined, number>;
  build_count: ColumnType<number, number | undefined, number>;
  built_at: Date;
  built_by: string;
  finalized_at: Date | null;
  finalized_by: string | null;
  finalized_by_tenant_id: string | null;
  paid_at: Date | null;
  paid_by: string | null;
  paid_by_tenant_id: string | null;
  payment_reference: string | null;
  disputed_at: Date | null;
  disputed_by: string | null;
  disputed_by_tenant_id: string | null;
  dispute_reason: string | null;
  dispute_resolved_at: Date | null;
  dispute_resolved_by: string | null;
  dispute_resolution: string | null;
  created_at: Date;
  updated_at: Date;
}

export interface SettlementStatementLinesTable {
  statement_id: string;
  line_no: number;
  section: 'period' | 'adjustment';
  relates_to_period: string;
  offer_id: string | null;
  event: SettlementEvent;
  statement_ref: string | null;
  currency: string;
  count: number;
  amount_minor: ColumnType<string, number | string, number | string>;
}

export interface SettlementStatementEntriesTable {
  entry_id: ColumnType<string, number | string, number | string>;
  statement_id: string;
}

export type SettlementRunStatus = 'queued' | 'running' | 'succeeded' | 'failed';

export interface SettlementRunsTable {
  id: string;
  tenant_id: string | null;
  period: string | null;
  trigger: 'schedule' | 'api';
  requested_by: string;
  status: SettlementRunStatus;
  attempts: ColumnType<number, number | undefined, number>;
  statements_built: ColumnType<number, number | undefined, number>;
  statements_unchanged: ColumnType<number, number | undefined, number>;
  error: string | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

export interface SettlementReconciliationsTable {
  id: string;
  statement_id: string;
  tenant_id: string;
  uploaded_by: string;
  uploaded_at: Date;
  filename: string | null;
  statement_hash: string;
  rows: number;
  invalid_rows: number;
  matched: number;
  missing_ours: number;
  missing_theirs: number;
  mismatched: number;
  their_total_minor: ColumnType<string, number | string, number | string>;
  our_total_minor: ColumnType<string, number | string, number | string>;
  reconciled: boolean;
  report: string;
}

export type RedemptionStatus = 'redeemed' | 'reversed';

export interface RedemptionsTable {
  id: string;
  voucher_id: string;
  partner_tenant_id: string;
  issuer_tenant_id: string;
  agreement_id: string;
  offer_id: string;
  code_id: string;
  code_mask: string;
  order_ref: string;
  order_amount_minor: ColumnType<string, number | string, number | string>;
  currency: string;
  /** The offer's value applied to the order, in the order's minor units. */
  discount_minor: ColumnType<string, number | string, number | string>;
  status: RedemptionStatus;
  redeemed_at: Date;
  redeemed_by: string;
  reversed_at: Date | null;
  reversed_by: string | null;
  reverse_reason: string | null;
  /** The shop's own id for the shopper's account, when it sends one. */
  shopper_ref: ColumnType<string | null, string | null | undefined, string | null>;
}

export type WebhookEndpointStatus = 'enabled' | 'disabled';
export type WebhookDisabledReason = 'manual' | 'gone' | 'failing';

export interface WebhookEndpointsTable {
  id: string;
  tenant_id: string;
  url: string;
  description: string;
  /** null: every event type. */
  event_types: string[] | null;
  status: WebhookEndpointStatus;
  disabled_reason: WebhookDisabledReason | null;
  disabled_at: Date | null;
  secret_cipher: Buffer;
  previous_secret_cipher: Buffer | null;
  previous_secret_expires_at: Date | null;
  last_sequence: ColumnType<string, number | string | undefined, number | string>;
  failing_since: Date | null;
  created_by: string;
  created_at: Date;
  updated_at: Date;
}

export type WebhookDeliveryStatus = 'pending' | 'succeeded' | 'failed';

export interface WebhookDeliveriesTable {
  id: string;
  tenant_id: string;
  endpoint_id: string;
  event_type: string;
  outbox_event_id: ColumnType<string, number | string | null, number | string | null> | null;
  sequence: ColumnType<string, number | string, number | string>;
  occurred_at: Date;
  body: string;
  status: WebhookDeliveryStatus;
  attempt_count: ColumnType<number, number | undefined, number>;
  schedule_step: ColumnType<number, number | undefined, number>;
  next_attempt_at: Date | null;
  leased_until: Date | null;
  last_attempt_at: Date | null;
  last_status_code: number | null;
  last_error: string | null;
  delivered_at: Date | null;
  failed_at: Date | null;
  created_at: Date;
}

export interface WebhookAttemptsTable {
  delivery_id: string;
  attempt: number;
  started_at: Date;
  duration_ms: number;
  status_code: number | null;
  error: string | null;
  response_body: string | null;
  next_attempt_at: Date | null;
}

export type PortalRole = 'admin' | 'pool_manager' | 'marketer' | 'finance' | 'fraud_reviewer' | 'operator';
export type PortalUserStatus = 'active' | 'disabled';

export interface PortalUsersTable {
  id: string;
  /** null: a coalition operator. */
  tenant_id: string | null;
  email: string;
  display_name: string;
  roles: PortalRole[];
  /** argon2id (PHC string). */
  password_hash: string;
  status: Generated<PortalUserStatus>;
  session_version: Generated<number>;
  created_at: Generated<Date>;
  created_by: string | null;
  updated_at: Generated<Date>;
  last_sign_in_at: Timestamp | null;
}

export interface PortalInvitationsTable {
  id: string;
  tenant_id: string | null;
  email: string;
  roles: PortalRole[];
  token_hash: string;
  created_at: Generated<Date>;
  created_by: string;
  expires_at: Timestamp;
  accepted_at: Timestamp | null;
  accepted_user_id: string | null;
  revoked_at: Timestamp | null;
  resets_user_id: string | null;
}

export interface CoalitionTables {
  tenants: TenantsTable;
  api_keys: ApiKeysTable;
  portal_users: PortalUsersTable;
  portal_invitations: PortalInvitationsTable;
  operator_audit_events: AuditEventsTable;
  agreements: AgreementsTable;
  agreement_usage: AgreementUsageTable;
  signing_keys: SigningKeysTable;
  vouchers: VouchersTable;
  settlement_entries: SettlementEntriesTable;
  settlement_statements: SettlementStatementsTable;
  settlement_statement_lines: SettlementStatementLinesTable;
  settlement_statement_entries: SettlementStatementEntriesTable;
  settlement_runs: SettlementRunsTable;
  settlement_reconciliations: SettlementReconciliationsTable;
  redemptions: RedemptionsTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_attempts: WebhookAttemptsTable;
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
  /** The return took back stickers already spent: the card was left owing. */
  left_owing: ColumnType<boolean, boolean | undefined, boolean>;
}

export type LedgerKind = 'accrual' | 'reversal' | 'spend' | 'expiry' | 'adjustment' | 'refund';

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

export type OfferStatus = 'draft' | 'active' | 'paused' | 'closed';
export type StockState = 'ok' | 'low' | 'empty';
export type CodeCase = 'upper' | 'lower' | 'preserve';

type Bigint = ColumnType<string, number | string, number | string>;

export interface OffersTable {
  id: string;
  title: string;
  description: string;
  value_type: 'fixed' | 'percent';
  value_minor: Bigint | null;
  value_percent: ColumnType<string, number | string, number | string> | null;
  currency: string;
  min_order_minor: Bigint | null;
  terms_url: string | null;
  codes_valid_until: Date | null;
  status: OfferStatus;
  low_stock_threshold: number;
  stock_state: ColumnType<StockState, StockState | undefined, StockState>;
  code_case: CodeCase;
  code_min_length: number;
  code_max_length: number;
  code_characters: string;
  /** What a cancelled voucher's code becomes. */
  cancelled_code_policy: ColumnType<CancelledCodePolicy, CancelledCodePolicy | undefined, CancelledCodePolicy>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export type CancelledCodePolicy = 'void' | 'return_to_pool';

export type BatchKind = 'upload' | 'generated';
export type BatchStatus = 'receiving' | 'queued' | 'importing' | 'ready' | 'failed' | 'voided';

export interface CodeBatchesTable {
  id: string;
  offer_id: string;
  kind: BatchKind;
  name: string;
  status: BatchStatus;
  expires_at: Date | null;
  upload_key: string | null;
  source: Json<Record<string, unknown>>;
  bytes_received: ColumnType<string, number | string | undefined, number | string>;
  chunk_count: ColumnType<number, number | undefined, number>;
  rows_read: ColumnType<string, number | string | undefined, number | string>;
  accepted: ColumnType<string, number | string | undefined, number | string>;
  rejected: ColumnType<string, number | string | undefined, number | string>;
  import_attempts: ColumnType<number, number | undefined, number>;
  failure: Json<Record<string, unknown>> | null;
  created_by: string;
  created_at: Date;
  queued_at: Date | null;
  progress_at: Date | null;
  completed_at: Date | null;
  voided_at: Date | null;
  voided_by: string | null;
  void_reason: string | null;
}

export interface CodeBatchChunksTable {
  batch_id: string;
  seq: number;
  data: Buffer;
}

export interface CodeBatchRejectsTable {
  batch_id: string;
  line_no: Bigint;
  reason: string;
  detail: string | null;
  code_cipher: Buffer | null;
}

export type CodeStatus = 'available' | 'reserved' | 'issued' | 'redeemed' | 'expired' | 'voided';

export interface CodesTable {
  id: ColumnType<string, never, never>;
  offer_id: string;
  batch_id: string;
  lookup_hash: Buffer;
  cipher: Buffer;
  mask: string;
  status: CodeStatus;
  expires_at: Date | null;
  reserved_until: Date | null;
  holder_ref: string | null;
  issued_at: Date | null;
  redeemed_at: Date | null;
  status_changed_at: Date | null;
}

export type RewardStatus = 'active' | 'paused' | 'archived';
export type LimitPeriod = 'day' | 'week' | 'month';

export interface RewardsTable {
  id: string;
  title: string;
  description: string;
  image_url: string | null;
  sort_order: number;
  agreement_id: string;
  partner_tenant_id: string;
  offer_id: string;
  campaign_id: string;
  sticker_cost: number;
  limit_total: number | null;
  limit_per_period: number | null;
  limit_period: LimitPeriod | null;
  voucher_valid_days: number;
  min_code_validity_days: number;
  status: RewardStatus;
  created_by: string;
  created_at: Date;
  updated_at: Date;
}

export type FraudAction = 'allow' | 'flag' | 'hold' | 'block';
export type FraudCaseAction = Exclude<FraudAction, 'allow'>;
export type FraudDecision = 'released' | 'reversed' | 'card_blocked' | 'dismissed';

export interface FraudRuleSettingsTable {
  rule_id: string;
  action: FraudAction;
  params: Json<Record<string, number>>;
  updated_by: string;
  updated_at: Date;
}

export interface FraudCasesTable {
  id: string;
  rule_id: string;
  subject_key: string;
  customer_id: string | null;
  action: FraudCaseAction;
  status: ColumnType<'open' | 'closed', 'open' | 'closed' | undefined, 'open' | 'closed'>;
  summary: string;
  hits: ColumnType<number, number | undefined, number>;
  /** Stickers held by this case's hits, as recorded (returns since may have taken some back). */
  held_stickers: ColumnType<number, number | undefined, number>;
  opened_at: Date;
  last_hit_at: Date;
  decision: FraudDecision | null;
  decided_by: string | null;
  decided_by_name: string | null;
  decided_at: Date | null;
  decision_reason: string | null;
  decision_details: Json<unknown> | null;
}

export interface FraudCaseHitsTable {
  id: Generated<string>;
  case_id: string;
  kind: 'purchase' | 'return' | 'exchange' | 'redemption';
  action: FraudCaseAction;
  recorded_at: Date;
  purchase_id: string | null;
  reference: string | null;
  evidence: Json<unknown>;
  held: Json<unknown> | null;
}

export interface CustomerPhoneLinksTable {
  phone_hash: string;
  customer_id: string;
  linked_at: Date;
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
  offers: OffersTable;
  code_batches: CodeBatchesTable;
  code_batch_chunks: CodeBatchChunksTable;
  code_batch_rejects: CodeBatchRejectsTable;
  codes: CodesTable;
  rewards: RewardsTable;
  fraud_rule_settings: FraudRuleSettingsTable;
  fraud_cases: FraudCasesTable;
  fraud_case_hits: FraudCaseHitsTable;
  customer_phone_links: CustomerPhoneLinksTable;
}
