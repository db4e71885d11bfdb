import type { TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';

interface ErrorCodeDefinition {
  /** tRPC code: decides the HTTP status on both the /trpc and the /api face. */
  trpc: TRPC_ERROR_CODE_KEY;
  httpStatus: number;
  /** What an integrator should read the code as; rendered into docs/errors.md. */
  meaning: string;
}

/**
 * The stable reason codes clients branch on. Codes are never renamed or reused: add
 * new ones instead. `npm test` checks that docs/errors.md lists every code here.
 */
export const ERROR_CODES = {
  VALIDATION_FAILED: {
    trpc: 'BAD_REQUEST',
    httpStatus: 400,
    meaning: 'The input did not match the schema; `details.issues` names each field and what is wrong with it.',
  },
  MALFORMED_JSON: {
    trpc: 'PARSE_ERROR',
    httpStatus: 400,
    meaning: 'The request body is not valid JSON.',
  },
  UNSUPPORTED_MEDIA_TYPE: {
    trpc: 'UNSUPPORTED_MEDIA_TYPE',
    httpStatus: 415,
    meaning: 'The request body has a Content-Type (or Content-Encoding) this operation does not take: JSON operations take `application/json`, code uploads `text/csv` (gzip allowed); `details.accepted` lists them where it applies.',
  },
  PAYLOAD_TOO_LARGE: {
    trpc: 'PAYLOAD_TOO_LARGE',
    httpStatus: 413,
    meaning: 'The request body exceeds the configured limit: `BODY_LIMIT_BYTES` for JSON operations, `UPLOAD_LIMIT_BYTES` for code files; `details.limitBytes` says which where it applies.',
  },
  INVALID_SLUG: {
    trpc: 'BAD_REQUEST',
    httpStatus: 400,
    meaning: 'A tenant slug must be 3-32 characters of lowercase letters, digits and single hyphens, starting with a letter.',
  },
  UNAUTHENTICATED: {
    trpc: 'UNAUTHORIZED',
    httpStatus: 401,
    meaning: 'No API key was sent, or it is malformed, unknown or revoked. Send `Authorization: Bearer cx_live_…`.',
  },
  FORBIDDEN: {
    trpc: 'FORBIDDEN',
    httpStatus: 403,
    meaning: 'The API key is valid but lacks a scope this operation requires; `details.requiredScopes` lists them.',
  },
  TENANT_SUSPENDED: {
    trpc: 'FORBIDDEN',
    httpStatus: 403,
    meaning: 'The tenant that owns this API key is suspended by the coalition operator.',
  },
  CSRF_REJECTED: {
    trpc: 'FORBIDDEN',
    httpStatus: 403,
    meaning:
      'A change sent with a portal session cookie lacked the session\'s `X-CSRF-Token` header (the portal sends it from `GET /auth/session`), or came from another origin. API-key requests are not affected.',
  },
  SIGN_IN_FAILED: {
    trpc: 'UNAUTHORIZED',
    httpStatus: 401,
    meaning: 'The email address or the password is wrong, or the user is disabled. The answer does not say which, so addresses cannot be probed.',
  },
  INVITATION_INVALID: {
    trpc: 'NOT_FOUND',
    httpStatus: 404,
    meaning: 'The invitation link is unknown, already used, revoked or expired (`details.reason`). Ask your administrator for a new one.',
  },
  INVITATION_NOT_FOUND: {
    trpc: 'NOT_FOUND',
    httpStatus: 404,
    meaning: 'No pending invitation with this id exists for the tenant.',
  },
  USER_NOT_FOUND: {
    trpc: 'NOT_FOUND',
    httpStatus: 404,
    meaning: 'No portal user with this id exists for the tenant.',
  },
  EMAIL_TAKEN: {
    trpc: 'CONFLICT',
    httpStatus: 409,
    meaning: 'The email address already names a portal account: inviting someone who is already a user of your tenant, or accepting an invitation with an address that has an account elsewhere in the coalition (an address names one account).',
  },
  LAST_ADMIN: {
    trpc: 'CONFLICT',
    httpStatus: 409,
    meaning: 'The change would leave the tenant without an active admin (or lock you out of your own account): give another user the admin role first.',
  },
  ROUTE_NOT_FOUND: {
    trpc: 'NOT_FOUND',
    httpStatus: 404,
    meaning: 'No operation exists at this method and path.',
  },
  METHOD_NOT_ALLOWED: {
    trpc: 'METHOD_NOT_SUPPORTED',
    httpStatus: 405,
    meaning: 'The operation exists but not for this HTTP method (tRPC: queries are GET, mutations POST).',
  },
  TENANT_NOT_FOUND: {
    trpc: 'NOT_FOUND',
    httpStatus: 404,
    meaning: 'No tenant has this slug.',
  },
  API_KEY_NOT_FOUND: {
    trpc: 'NOT_FOUND',
    httpStatus: 404,
    meaning: 'No API key with this id exists for the tenant.',
  },
  TENANT_SLUG_TAKEN: {
    trpc: 'CONFLICT',
    httpStatus: 409,
    meaning: 'A tenant with this slug already exists; slugs are permanent and never reused.',
  },
  API_KEY_ALREADY_REVOKED: {
    trpc: 'CONFLICT',
    httpStatus: 409,
    meaning: 'The API key was revoked earlier; revocation is permanent.',
  },
  API_KEY_LIMIT_REACHED: {
    trpc: 'CONFLICT',
    httpStatus: 409,
    meaning: 'The tenant already has the maximum number of active API keys (50); revoke unused keys first.',
  },
  IDEMPOTENCY_KEY_REQUIRED: {
    trpc: 'BAD_REQUEST',
    httpStatus: 400,
    meaning: 'This operation needs an `Idempotency-Key` header (1-255 visible ASCII characters, unique per operation you intend).',
  },
  IDEMPOTENCY_KEY_REUSED: {
    trpc: 'UNPROCESSABLE_CONTENT',
    httpStatus: 422,
    meaning: 'The `Idempotency-Key` was already used with a different request body or operation; use a new key for a new request.',
  },
  CUSTOMER_NOT_FOUND: {
    trpc: 'NOT_FOUND',
    httpStatus: 404,
    meaning: 'No customer has this id, card number or phone (and auto-enrolment is off, where it applies).',
  },
  CUSTOMER_BLOCKED: {
    trpc: 'FORBIDDEN',
    httpStatus: 403,
    meaning: 'The customer is blocked: no stickers are credited and none can be exchanged until unblocked.',
  },
  CARD_ALREADY_REGISTERED: {
    trpc: 'CONFLICT',
    httpStatus: 409,
    meaning: 'This loyalty card number already belongs to another customer.',
  },
  PHONE_ALREADY_REGISTERED: {
    trpc: 'CONFLICT',
    httpStatus: 409,
    meaning: 'This phone number already belongs to another customer.',
  },
  CAMPAIGN_NOT_FOUND: {
    trpc: 'NOT_FOUND',
    httpStatus: 404,
    meaning: 'No campaign with this id exists for the issuer.',
  },
  CAMPAIGN_ALREADY_STARTED: {
    trpc: 'CONFLICT',
    httpStatus: 409,
    meaning: 'The campaign has started: its dates and stores are fixed; rules change only through a new rules version effective from now on.',
  },
  CAMPAIGN_BURNED: {
    trpc: 'CONFLICT',
    httpStatus: 409,
    meaning: 'The campaign has passed its burn date: its stickers are gone and its balances no longer change.',
  },
  RULES_NOT_RETROACTIVE: {
    trpc: 'UNPROCESSABLE_CONTENT',
    httpStatus: 422,
    meaning: 'A rules version must take effect now or later, and after the latest existing version: past purchases keep their terms.',
  },
  RECEIPT_ALREADY_RECORDED: {
    trpc: 'CONFLICT',
    httpStatus: 409,
    meaning: 'This receipt id was already recorded for this store under another Idempotency-Key.',
  },
  CURRENCY_MISMATCH: {
    trpc: 'UNPROCESSABLE_CONTENT',
    httpStatus: 422,
    meaning: "Amounts must be in the tenant's currency; `details.expected` names it.",
  },
  RECEIPT_TOTAL_MISMATCH: {
    trpc: 'UNPROCESSABLE_CONTENT',
    httpStatus: 422,
    meaning: 'The receipt lines do not add up to the total (tolerance: 1 minor unit per line).',
  },
  PURCHASE_NOT_FOUND: {
    trpc: 'NOT_FOUND',
    httpStatus: 404,
    meaning: 'No purchase with this receipt id was recorded for this store.',
  },
  RETURN_ALREADY_RECORDED: {
    trpc: 'CONFLICT',
    httpStatus: 409,
    meaning: 'This return id was already recorded for the receipt under another Idempotency-Key.',
  },
  RETURN_EXCEEDS_PURCHASE: {
    trpc: 'UNPROCESSABLE_CONTENT',
    httpStatus: 422,
    meaning: 'The returns of a receipt would add up to more than its total.',
  },
  INSUFFICIENT_STICKERS: {
    trpc: 'UNPROCESSABLE_CONTENT',
    httpStatus: 422,
    meaning: "The customer's available stickers in the campaign do not cover the amount (pending stickers do not count).",
  },
  OFFER_NOT_FOUND: {
    trpc: 'NOT_FOUND',
    httpStatus: 404,
    meaning: 'No offer with this id exists for the partner.',
  },
  OFFER_VALUE_LOCKED: {
    trpc: 'CONFLICT',
    httpStatus: 409,
    meaning: 'Codes of this offer have been issued to customers: its value, currency and minimum order are fixed. Create a new offer instead.',
  },
  OFFER_CURRENCY_LOCKED: {
    trpc: 'CONFLICT',
    httpStatus: 409,
    meaning: "The offer is in a running (or proposed) agreement in which the partner pays a percentage of the order value, settled in the offer's currency; `details.agreementId` names it. End or withdraw it first.",
  },
  OFFER_CODE_RULES_LOCKED: {
    trpc: 'CONFLICT',
    httpStatus: 409,
    meaning: 'The offer already has code batches, which were checked against its code rules: the rules are fixed.',
  },
  OFFER_STATUS_TRANSITION: {
    trpc: 'CONFLICT',
    httpStatus: 409,
    meaning: 'The offer cannot move to that status from its current one; `details.allowed` lists where it can go.',
  },
  OFFER_CLOSED: {
    trpc: 'CONFLICT',
    httpStatus: 409,
    meaning: 'The offer is closed: it takes no new codes and no changes.',
  },
  OFFER_NOT_ACTIVE: {
    trpc: 'CONFLICT',
    httpStatus: 409,
    meaning:
      'The offer is not active (draft, paused or closed), or its codes-valid-until date has passed (or comes before a code would need to be valid until; `details.endsTooSoon`): no code can be handed out.',
  },
  POOL_EXHAUSTED: {
    trpc: 'CONFLICT',
    httpStatus: 409,
    meaning: 'The offer has no available code left (every code is issued, reserved, expired or voided). It becomes available again when a batch is added.',
  },
  BATCH_NOT_FOUND: {
    trpc: 'NOT_FOUND',
    httpStatus: 404,
    meaning: 'No code batch with this id exists for the partner.',
  },
  BATCH_NOT_VOIDABLE: {
    trpc: 'CONFLICT',
    httpStatus: 409,
    meaning: 'The batch cannot be voided in its current status (it is still being received or imported, or is already voided); `details.status` says which.',
  },
  UPLOAD_IN_PROGRESS: {
    trpc: 'CONFLICT',
    httpStatus: 409,
    meaning: 'An upload with this Idempotency-Key is still being received. Wait for it to finish, then retry to get its batch.',
  },
  UPLOAD_EMPTY: {
    trpc: 'BAD_REQUEST',
    httpStatus: 400,
    meaning: 'The uploaded file has no bytes.',
  },
  CODE_SPACE_TOO_SMALL: {
    trpc: 'UNPROCESSABLE_CONTENT',
    httpStatus: 422,
    meaning:
      'Generating this many codes from this alphabet and length would make duplicates (and guessable codes) likely; `details.minimumLength` is the shortest random part that would do.',
  },
  CHECK_CHARACTER_FORMAT_CONFLICT: {
    trpc: 'UNPROCESSABLE_CONTENT',
    httpStatus: 422,
    meaning: "The generation would make codes unredeemable when typed: codes with the shape (prefix, length, alphabet) of a check-character format that fail its check are refused at the till as mistyped. Either codes you already have would (`details.conflictingCodes`, `details.exampleMask`), or another generated format of yours overlaps this one, one with and one without a check character (`details.conflictingFormat`). Choose another prefix or length.",
  },
  CODE_NOT_FOUND: {
    trpc: 'NOT_FOUND',
    httpStatus: 404,
    meaning: 'The partner has no such code.',
  },
  COUNTERPARTY_NOT_FOUND: {
    trpc: 'NOT_FOUND',
    httpStatus: 404,
    meaning: 'No active tenant with this slug has the role the agreement needs on the other side (an issuer for a partner, a partner for an issuer).',
  },
  AGREEMENT_NOT_FOUND: {
    trpc: 'NOT_FOUND',
    httpStatus: 404,
    meaning: 'No agreement with this id exists between the caller and another tenant.',
  },
  AGREEMENT_STATUS_TRANSITION: {
    trpc: 'CONFLICT',
    httpStatus: 409,
    meaning: 'The agreement cannot take this step from its current status; `details.status` says where it is and `details.allowed` what it can still do.',
  },
  AGREEMENT_ACTION_FORBIDDEN: {
    trpc: 'FORBIDDEN',
    httpStatus: 403,
    meaning:
      'This side of the agreement cannot take this step: only the other side accepts or declines a proposal, only the proposer withdraws it, and only the side that suspended an agreement (or the operator) resumes it.',
  },
  AGREEMENT_INACTIVE: {
    trpc: 'CONFLICT',
    httpStatus: 409,
    meaning:
      'The agreement behind this reward is not in force (proposed, suspended, ended, outside its validity period, or one of its tenants is suspended): no new vouchers. Vouchers already issued stay valid.',
  },
  AGREEMENT_CAP_REACHED: {
    trpc: 'CONFLICT',
    httpStatus: 409,
    meaning: "The agreement's monthly cap on issued codes is used up for this calendar month (in the agreement's time zone); `details.resetsAt` says when it frees up.",
  },
  OFFER_NOT_IN_AGREEMENT: {
    trpc: 'UNPROCESSABLE_CONTENT',
    httpStatus: 422,
    meaning: 'The offer is not one the agreement lets the issuer list; `details.offerIds` lists those it does.',
  },
  REWARD_NOT_FOUND: {
    trpc: 'NOT_FOUND',
    httpStatus: 404,
    meaning: "No reward with this id exists in the issuer's catalog.",
  },
  REWARD_UNAVAILABLE: {
    trpc: 'CONFLICT',
    httpStatus: 409,
    meaning:
      "The reward cannot be exchanged right now: it is paused or archived, its campaign has burned, the partner's offer is not active, or the offer ends before the reward's minimum code validity; `details.reason` says which (`paused`, `archived`, `campaign_burned`, `offer_not_active`, `offer_ends_soon`).",
  },
  REWARD_STATUS_TRANSITION: {
    trpc: 'CONFLICT',
    httpStatus: 409,
    meaning: 'The reward cannot move to that status from its current one (archived is final); `details.allowed` lists where it can go.',
  },
  REWARD_ARCHIVED: {
    trpc: 'CONFLICT',
    httpStatus: 409,
    meaning: 'The reward is archived: it no longer changes. Create a new reward instead.',
  },
  FRAUD_SUSPECTED: {
    trpc: 'FORBIDDEN',
    httpStatus: 403,
    meaning:
      "An anti-fraud rule refused the purchase or exchange; nothing was recorded but the review case. `details.caseId` names the case, `details.ruleId` the rule (docs/fraud.md). Do not retry: a reviewer decides, and the customer's daily exchange cap resets at the next day's start.",
  },
  FRAUD_RULE_NOT_FOUND: {
    trpc: 'NOT_FOUND',
    httpStatus: 404,
    meaning: 'There is no anti-fraud rule with this id; `details.rules` lists them.',
  },
  FRAUD_CASE_NOT_FOUND: {
    trpc: 'NOT_FOUND',
    httpStatus: 404,
    meaning: 'There is no anti-fraud case with this id among yours.',
  },
  FRAUD_CASE_CLOSED: {
    trpc: 'CONFLICT',
    httpStatus: 409,
    meaning: 'The case was already decided; `details` says how, when and by whom. A case is decided once.',
  },
  FRAUD_DECISION_NOT_APPLICABLE: {
    trpc: 'CONFLICT',
    httpStatus: 409,
    meaning:
      'The decision does not fit the case: release and reverse need held stickers (`details.reason` nothing_held), block_card needs a case about one enrolled card (`no_card`). Dismiss or choose another decision.',
  },
  LIMIT_REACHED: {
    trpc: 'CONFLICT',
    httpStatus: 409,
    meaning:
      'The customer has already exchanged this reward as often as its per-customer limit allows (`details.limit`: `total`, or `period` with `details.resetsAt`). Cancelled vouchers do not count.',
  },
  VOUCHER_NOT_FOUND: {
    trpc: 'NOT_FOUND',
    httpStatus: 404,
    meaning: 'No voucher with this id was issued by this issuer.',
  },
  VOUCHER_NOT_CANCELLABLE: {
    trpc: 'CONFLICT',
    httpStatus: 409,
    meaning: 'The voucher has been redeemed: it can no longer be cancelled (reverse the redemption first).',
  },
  SIGNING_KEY_NOT_FOUND: {
    trpc: 'NOT_FOUND',
    httpStatus: 404,
    meaning: "No voucher signing key with this kid belongs to the issuer.",
  },
  SIGNING_KEY_ROTATION_PENDING: {
    trpc: 'CONFLICT',
    httpStatus: 409,
    meaning: 'A new signing key is already published and waiting to take over (`details.kid`, `details.activatesAt`); revoke it first to schedule another.',
  },
  SIGNING_KEY_ALREADY_REVOKED: {
    trpc: 'CONFLICT',
    httpStatus: 409,
    meaning: 'The signing key was revoked earlier; revocation is permanent.',
  },
  INVALID_CHECK_CHARACTER: {
    trpc: 'UNPROCESSABLE_CONTENT',
    httpStatus: 422,
    meaning: "The code has the shape of one of the partner's generated codes but its last (check) character does not match: a typing mistake. Refused without a lookup; ask the shopper to check the code.",
  },
  INVALID_VOUCHER: {
    trpc: 'UNPROCESSABLE_CONTENT',
    httpStatus: 422,
    meaning: "The signed voucher is malformed, altered, or signed by a key the issuer no longer publishes (revoked). Ask for the code instead, or for the voucher as the customer's app shows it now.",
  },
  WRONG_PARTNER: {
    trpc: 'UNPROCESSABLE_CONTENT',
    httpStatus: 422,
    meaning: 'The signed voucher is for another partner shop (its `aud`): it cannot be redeemed here.',
  },
  UNKNOWN_CODE: {
    trpc: 'NOT_FOUND',
    httpStatus: 404,
    meaning: "No code of this partner matches what was typed (codes are matched without regard to case).",
  },
  NOT_ISSUED: {
    trpc: 'CONFLICT',
    httpStatus: 409,
    meaning: "The code is in the partner's pool but was never handed to a customer through the exchange (or was returned to the pool): it cannot be redeemed.",
  },
  VOUCHER_CANCELLED: {
    trpc: 'CONFLICT',
    httpStatus: 409,
    meaning: 'The issuer cancelled the voucher this code belonged to (the customer got the stickers back).',
  },
  ALREADY_REDEEMED: {
    trpc: 'CONFLICT',
    httpStatus: 409,
    meaning: 'The code has been redeemed; `details.redeemedAt` says when and `details.redemptionId` by which redemption. A code is redeemed at most once unless that redemption is reversed.',
  },
  EXPIRED: {
    trpc: 'CONFLICT',
    httpStatus: 409,
    meaning: 'The voucher (or its code) has expired; `details.expiresAt` says when.',
  },
  MIN_ORDER_NOT_MET: {
    trpc: 'UNPROCESSABLE_CONTENT',
    httpStatus: 422,
    meaning: "The order is below the offer's minimum; `details.minOrderMinor` names it.",
  },
  REDEMPTION_NOT_FOUND: {
    trpc: 'NOT_FOUND',
    httpStatus: 404,
    meaning: 'No redemption with this id belongs to the calling partner.',
  },
  REVERSAL_WINDOW_CLOSED: {
    trpc: 'CONFLICT',
    httpStatus: 409,
    meaning: 'The redemption is older than the reversal window (REDEMPTION_REVERSAL_DAYS, default 30); `details.closedAt` says when it closed.',
  },
  STATEMENT_NOT_FOUND: {
    trpc: 'NOT_FOUND',
    httpStatus: 404,
    meaning: 'No settlement statement with this id exists for an agreement the caller is a party to.',
  },
  STATEMENT_STATUS_TRANSITION: {
    trpc: 'CONFLICT',
    httpStatus: 409,
    meaning:
      'The statement cannot take this step from its status (draft → finalized → paid or disputed; a dispute is resolved back to finalized or paid); `details.status` says where it is and `details.allowed` what it can still do.',
  },
  STATEMENT_ACTION_FORBIDDEN: {
    trpc: 'FORBIDDEN',
    httpStatus: 403,
    meaning: 'This party cannot take this step: only the party that raised a dispute resolves it.',
  },
  STATEMENT_PERIOD_OPEN: {
    trpc: 'CONFLICT',
    httpStatus: 409,
    meaning: 'The statement\'s month has not ended in the agreement\'s time zone: it can be built as a draft, not finalized. `details.periodEnd` says when it can be.',
  },
  EARLIER_PERIOD_UNSETTLED: {
    trpc: 'CONFLICT',
    httpStatus: 409,
    meaning: 'An earlier month of this agreement has entries but no finalized statement: finalize statements in order. `details.periods` lists the months to build and finalize first.',
  },
  STATEMENT_CHANGED: {
    trpc: 'CONFLICT',
    httpStatus: 409,
    meaning: 'Entries arrived since the draft you reviewed: its content hash is no longer `details.expectedContentHash`. Rebuild the draft, review it, and finalize with the new hash.',
  },
  SETTLEMENT_PERIOD_NOT_COVERED: {
    trpc: 'CONFLICT',
    httpStatus: 409,
    meaning: 'The agreement was not in force in that month (not accepted before the month ended), so there is nothing to settle.',
  },
  SETTLEMENT_RUN_NOT_FOUND: {
    trpc: 'NOT_FOUND',
    httpStatus: 404,
    meaning: 'No settlement run with this id was started by the caller.',
  },
  RECONCILIATION_NOT_FOUND: {
    trpc: 'NOT_FOUND',
    httpStatus: 404,
    meaning: 'No reconciliation with this id was uploaded by the caller.',
  },
  INVALID_RECONCILIATION_FILE: {
    trpc: 'UNPROCESSABLE_CONTENT',
    httpStatus: 422,
    meaning:
      'The reconciliation file cannot be read as a whole: it is empty, has no readable header, lacks a required column (`voucher_id` or `code`; exactly one of `amount` and `amount_minor`), or has more data rows than allowed; `details.reason` says which. Problems in single rows are reported per row instead.',
  },
  WEBHOOK_ENDPOINT_NOT_FOUND: {
    trpc: 'NOT_FOUND',
    httpStatus: 404,
    meaning: 'No webhook endpoint with this id belongs to the calling tenant.',
  },
  WEBHOOK_ENDPOINT_LIMIT_REACHED: {
    trpc: 'CONFLICT',
    httpStatus: 409,
    meaning: 'The tenant has the most webhook endpoints allowed (`details.limit`); change or reuse one.',
  },
  WEBHOOK_ENDPOINT_DISABLED: {
    trpc: 'CONFLICT',
    httpStatus: 409,
    meaning: 'The endpoint is disabled (`details.reason`: manual, gone after a 410, or failing for 5 days); enable it before sending a test event or replaying to it.',
  },
  WEBHOOK_DELIVERY_NOT_FOUND: {
    trpc: 'NOT_FOUND',
    httpStatus: 404,
    meaning: 'No webhook delivery with this id belongs to the calling tenant.',
  },
  ROLE_REQUIRED: {
    trpc: 'FORBIDDEN',
    httpStatus: 403,
    meaning: 'The operation belongs to a tenant role (issuer or partner) this tenant does not have; `details.requiredRole` names it.',
  },
  RATE_LIMITED: {
    trpc: 'TOO_MANY_REQUESTS',
    httpStatus: 429,
    meaning: 'Too many requests for this API key (or client IP, when unauthenticated). Retry after the `Retry-After` header\'s seconds.',
  },
  SERVICE_UNAVAILABLE: {
    trpc: 'SERVICE_UNAVAILABLE',
    httpStatus: 503,
    meaning:
      'PostgreSQL is unreachable right now, or the tenant\'s data is being migrated. Retry with backoff; a write may or may not have been applied, so retry writes with the same Idempotency-Key or check first.',
  },
  INTERNAL_ERROR: {
    trpc: 'INTERNAL_SERVER_ERROR',
    httpStatus: 500,
    meaning: 'An unexpected error. Nothing internal is disclosed; quote `requestId` to the operator.',
  },
} as const satisfies Record<string, ErrorCodeDefinition>;

export type ErrorCode = keyof typeof ERROR_CODES;
