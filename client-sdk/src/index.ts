export { createClient, withIdempotencyKey, type ClientOptions, type CoalitionClient } from './create-client.ts';
export type { CoalitionCallContext, FetchLike } from './coalition-link.ts';
export { CoalitionError, isCoalitionError, type ClientErrorCode, type CoalitionErrorCode } from './coalition-error.ts';
export { DEFAULT_RETRY, type RetryOptions } from './retry-policy.ts';
export { IDEMPOTENT_PROCEDURES, type IdempotentProcedurePath, type MutationProcedurePath } from './idempotent-procedures.ts';
export type { AppRouter, AppRouterSurface, ErrorCode } from './app-router.ts';
export type { ErrorData, ErrorShape } from './router-surface.ts';
export {
  VOUCHER_TOKEN_TYPE,
  VoucherVerificationError,
  verifyVoucher,
  voucherKeySet,
  type VerifyVoucherOptions,
  type VoucherClaims,
  type VoucherErrorCode,
  type VoucherErrorReason,
  type VoucherKeySet,
  type VoucherKeySetOptions,
} from './verify-voucher.ts';
export { VOUCHER_QR_PREFIX, tokenFromQrText } from './voucher-qr.ts';
export { WebhookVerificationError, verifyWebhook, type VerifyWebhookOptions, type WebhookErrorCode, type WebhookHeaders } from './verify-webhook.ts';
export * from './webhook-events.ts';
