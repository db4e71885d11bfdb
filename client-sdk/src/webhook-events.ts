/**
 * The events webhooks carry, from the catalog in docs/webhooks.md. New types and new
 * `data` fields may appear at any time: keep a default branch that ignores what you do
 * not know.
 */

/** Money is integer minor units of `currency`. */
type Minor = number;
/** ISO 8601 timestamps. */
type Timestamp = string;

export interface CampaignBalance {
  campaignId: string;
  available: number;
  pending: number;
}

export interface StickersCreditedData {
  customerId: string;
  purchaseId: string;
  storeCode: string;
  receiptId: string;
  purchasedAt: Timestamp;
  credited: { campaignId: string; campaignName: string; stickers: number; availableAt: Timestamp }[];
  balance: { available: number; pending: number };
  campaigns: CampaignBalance[];
  /** An anti-fraud rule holds these stickers until a reviewer decides (their availableAt is the campaign's burn date). */
  onHold: boolean;
}

export interface StickersReversedData {
  customerId: string;
  purchaseId: string;
  storeCode: string;
  receiptId: string;
  returnId: string;
  reversed: { campaignId: string; stickers: number; from: 'available' | 'pending' | 'burned' }[];
  returnedMinor: Minor;
  balance: { available: number; pending: number };
  campaigns: CampaignBalance[];
  /** True when the customer now holds fewer than zero available stickers in a campaign. */
  owing: boolean;
}

export interface StickersExpiringSoonData {
  customerId: string;
  campaignId: string;
  stickers: number;
  burnAt: Timestamp;
}

export interface StickersExpiredData {
  customerId: string;
  campaignId: string;
  stickers: number;
  burnedAt: Timestamp;
}

export interface RewardReachableData {
  customerId: string;
  campaignId: string;
  goal: { stickers: number; label: string };
  /** The customer's stickers in the campaign, available and pending. */
  balance: number;
  reachableFrom: Timestamp;
}

interface VoucherEventBase {
  voucherId: string;
  agreementId: string;
  offerId: string;
  codeMask: string;
}

/** To the issuer: the customer's side. */
export interface VoucherIssuedToIssuerData extends VoucherEventBase {
  issuedAt: Timestamp;
  expiresAt: Timestamp;
  partner: string;
  customerId: string;
  rewardId: string;
  campaignId: string;
  stickers: number;
}

/** To the partner. */
export interface VoucherIssuedToPartnerData extends VoucherEventBase {
  issuedAt: Timestamp;
  expiresAt: Timestamp;
  issuer: string;
}

interface VoucherCancelledBase extends VoucherEventBase {
  codeDisposition: 'voided' | 'returned_to_pool';
  cancelledAt: Timestamp;
  reason: string;
}

export interface VoucherCancelledToIssuerData extends VoucherCancelledBase {
  partner: string;
  customerId: string;
  rewardId: string;
  campaignId: string;
  stickersRefunded: number;
}

export interface VoucherCancelledToPartnerData extends VoucherCancelledBase {
  issuer: string;
}

export interface VoucherRedeemedData extends VoucherEventBase {
  redemptionId: string;
  partner: string;
  customerId: string;
  rewardId: string;
  campaignId: string;
  orderRef: string;
  /** The shop's own account id for the shopper, when the shop sent one. */
  shopperRef: string | null;
  orderAmountMinor: Minor;
  discountMinor: Minor;
  currency: string;
  redeemedAt: Timestamp;
}

export interface VoucherRedemptionReversedData extends VoucherEventBase {
  redemptionId: string;
  partner: string;
  orderRef: string;
  orderAmountMinor: Minor;
  currency: string;
  redeemedAt: Timestamp;
  reversedAt: Timestamp;
  reason: string;
  /** What the reversal took off the settlement (signed as the agreement's entries). */
  settlementReversedMinor: Minor;
}

export type StockState = 'ok' | 'low' | 'empty';

export interface PoolStockData {
  offerId: string;
  title: string;
  state: StockState;
  previousState: StockState;
  available: number;
  lowStockThreshold: number;
}

export interface AgreementEventData {
  agreementId: string;
  name: string;
  issuer: string;
  partner: string;
  status: 'proposed' | 'active' | 'suspended' | 'ended' | 'declined' | 'withdrawn';
  by: 'issuer' | 'partner' | 'operator';
  reason: string | null;
}

export interface StatementTotal {
  currency: string;
  periodMinor: Minor;
  adjustmentsMinor: Minor;
  netMinor: Minor;
  /** Slug of the tenant that pays the net (null when it is zero). */
  owedBy: string | null;
  owedTo: string | null;
  amountMinor: Minor;
}

export interface StatementEventData {
  statementId: string;
  agreementId: string;
  /** YYYY-MM */
  period: string;
  status: 'draft' | 'finalized' | 'paid' | 'disputed';
  contentHash: string | null;
  totals: StatementTotal[];
  by: 'issuer' | 'partner';
}

export interface WebhookDeliveryExhaustedData {
  endpointId: string;
  deliveryId: string;
  eventType: string;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
}

export interface WebhookEndpointDisabledData {
  endpointId: string;
  url: string;
  reason: 'gone' | 'failing';
  failingSince: Timestamp | null;
  lastDeliveryId: string;
}

export interface FraudCaseOpenedData {
  caseId: string;
  ruleId: string;
  action: 'flag' | 'hold' | 'block';
  kind: 'purchase' | 'return' | 'exchange' | 'redemption';
  customerId: string | null;
  summary: string;
  purchaseId?: string;
  /** Receipt, return, voucher, reward or redemption id, by kind. */
  reference?: string;
}

export interface FraudStickerMove {
  purchaseId: string;
  campaignId: string;
  stickers: number;
  availableAt?: Timestamp;
}

export interface FraudCaseDecidedData {
  caseId: string;
  ruleId: string;
  customerId: string | null;
  decision: 'released' | 'reversed' | 'card_blocked' | 'dismissed';
  reason: string;
  decidedAt: Timestamp;
  released: FraudStickerMove[];
  reversed: FraudStickerMove[];
  burned: FraudStickerMove[];
}

export interface WebhookTestData {
  endpointId: string;
  message: string;
}

/** `data` of each event type. Where the issuer and the partner get different fields, a union of both. */
export interface WebhookEventDataMap {
  'stickers.credited': StickersCreditedData;
  'stickers.reversed': StickersReversedData;
  'stickers.expiring_soon': StickersExpiringSoonData;
  'stickers.expired': StickersExpiredData;
  'reward.reachable': RewardReachableData;
  'pool.low': PoolStockData;
  'pool.empty': PoolStockData;
  'pool.refilled': PoolStockData;
  'agreement.proposed': AgreementEventData;
  'agreement.accepted': AgreementEventData;
  'agreement.declined': AgreementEventData;
  'agreement.withdrawn': AgreementEventData;
  'agreement.suspended': AgreementEventData;
  'agreement.resumed': AgreementEventData;
  'agreement.ended': AgreementEventData;
  'voucher.issued': VoucherIssuedToIssuerData | VoucherIssuedToPartnerData;
  'voucher.cancelled': VoucherCancelledToIssuerData | VoucherCancelledToPartnerData;
  'voucher.redeemed': VoucherRedeemedData;
  'voucher.redemption_reversed': VoucherRedemptionReversedData;
  'settlement.statement_finalized': StatementEventData;
  'settlement.statement_paid': StatementEventData & { paymentReference: string };
  'settlement.statement_disputed': StatementEventData & { reason: string };
  'settlement.dispute_resolved': StatementEventData & { resolution: string };
  'settlement.adjustment_recorded': StatementEventData & {
    /** Signed from the agreement's payer; `period` is the month it lands in. */
    adjustment: { amountMinor: Minor; currency: string; period: string; reason: string };
  };
  'fraud.case_opened': FraudCaseOpenedData;
  'fraud.case_decided': FraudCaseDecidedData;
  'webhook.delivery_exhausted': WebhookDeliveryExhaustedData;
  'webhook.endpoint_disabled': WebhookEndpointDisabledData;
  'webhook.test': WebhookTestData;
}

export type WebhookEventType = keyof WebhookEventDataMap;

export const WEBHOOK_EVENT_TYPES = [
  'stickers.credited',
  'stickers.reversed',
  'stickers.expiring_soon',
  'stickers.expired',
  'reward.reachable',
  'pool.low',
  'pool.empty',
  'pool.refilled',
  'agreement.proposed',
  'agreement.accepted',
  'agreement.declined',
  'agreement.withdrawn',
  'agreement.suspended',
  'agreement.resumed',
  'agreement.ended',
  'voucher.issued',
  'voucher.cancelled',
  'voucher.redeemed',
  'voucher.redemption_reversed',
  'settlement.statement_finalized',
  'settlement.statement_paid',
  'settlement.statement_disputed',
  'settlement.dispute_resolved',
  'settlement.adjustment_recorded',
  'fraud.case_opened',
  'fraud.case_decided',
  'webhook.delivery_exhausted',
  'webhook.endpoint_disabled',
  'webhook.test',
] as const satisfies readonly WebhookEventType[];

/** One delivery's body. */
export type WebhookEvent = {
  [T in WebhookEventType]: {
    /** The delivery id, also the `webhook-id` header: the same on every retry and replay. Dedupe on it. */
    id: string;
    type: T;
    /** When the event happened. */
    timestamp: Timestamp;
    /** The event's place in this endpoint's stream (1, 2, 3…). */
    sequence: number;
    /** Your tenant's slug. */
    tenant: string;
    data: WebhookEventDataMap[T];
  };
}[WebhookEventType];

/** The event of one type: `WebhookEventOf<'voucher.redeemed'>`. */
export type WebhookEventOf<T extends WebhookEventType> = Extract<WebhookEvent, { type: T }>;
