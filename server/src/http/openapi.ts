import { generateOpenApiDocument } from 'trpc-to-openapi';

type OpenApiDocument = ReturnType<typeof generateOpenApiDocument>;
import { ERROR_CODES, type ErrorCode } from '../errors/error-codes.ts';
import { POOL_FILE_PATHS } from '../pools/openapi-file-routes.ts';
import { SETTLEMENT_FILE_PATHS } from '../settlement/openapi-file-routes.ts';
import type { AnyTRPCProcedure, AnyTRPCRouter } from '@trpc/server';
import type { ProcedureMeta } from '../trpc/trpc.ts';

const ACCESS_NOTES: Record<NonNullable<ProcedureMeta['access']>, string> = {
  public: 'No API key needed; rate limited per client IP.',
  authenticated: 'Any valid API key, tenant or operator.',
  operator: 'Operator key (`cx_op_…`) only.',
  tenant: 'Tenant API key (`cx_live_…`).',
};

export function proceduresOf(router: AnyTRPCRouter): [string, AnyTRPCProcedure][] {
  return Object.entries(router._def.procedures as Record<string, AnyTRPCProcedure>);
}

/** The operation extension listing the reason codes an operation can answer with. */
export const ERROR_CODES_EXTENSION = 'x-error-codes';

/**
 * The `*_NOT_FOUND` reason of the resource a path parameter names. Every operation
 * with such a parameter looks the resource up (scoped to the caller) and answers 404
 * with this code when it is not there; test/openapi.test.ts probes each one.
 */
export const NOT_FOUND_BY_PATH_PARAMETER: Record<string, ErrorCode> = {
  keyId: 'API_KEY_NOT_FOUND',
  slug: 'TENANT_NOT_FOUND',
  issuerSlug: 'TENANT_NOT_FOUND',
  campaignId: 'CAMPAIGN_NOT_FOUND',
  customerId: 'CUSTOMER_NOT_FOUND',
  offerId: 'OFFER_NOT_FOUND',
  batchId: 'BATCH_NOT_FOUND',
  agreementId: 'AGREEMENT_NOT_FOUND',
  rewardId: 'REWARD_NOT_FOUND',
  voucherId: 'VOUCHER_NOT_FOUND',
  kid: 'SIGNING_KEY_NOT_FOUND',
  redemptionId: 'REDEMPTION_NOT_FOUND',
  endpointId: 'WEBHOOK_ENDPOINT_NOT_FOUND',
  deliveryId: 'WEBHOOK_DELIVERY_NOT_FOUND',
  runId: 'SETTLEMENT_RUN_NOT_FOUND',
  statementId: 'STATEMENT_NOT_FOUND',
  reconciliationId: 'RECONCILIATION_NOT_FOUND',
  userId: 'USER_NOT_FOUND',
  invitationId: 'INVITATION_NOT_FOUND',
  ruleId: 'FRAUD_RULE_NOT_FOUND',
  caseId: 'FRAUD_CASE_NOT_FOUND',
};

const ERROR_SCHEMA_REF = '#/components/schemas/Error';
const errorContent = { 'application/json': { schema: { $ref: ERROR_SCHEMA_REF } } };

const STATUS_TITLES: Record<number, string> = {
  400: 'Bad request',
  401: 'Unauthenticated',
  403: 'Forbidden',
  404: 'Not found',
  405: 'Method not allowed',
  409: 'Conflict',
  413: 'Payload too large',
  415: 'Unsupported media type',
  422: 'Unprocessable content',
  429: 'Rate limited',
  500: 'Internal error',
  503: 'Service unavailable',
};

const INFO_DESCRIPTION = `REST face of Coalition Exchange: every operation is also a tRPC procedure under \`/trpc\` (named by \`operationId\` with \`-\` read as \`.\`), with the same input, output and errors. See docs/api-reference.md.

**Authentication.** Send \`Authorization: Bearer <api key>\`: a tenant key \`cx_live_…\` or an operator key \`cx_op_…\`. Operations with \`security: []\` need no key. \`x-access\` says who may call an operation (\`public\`, \`authenticated\`: any key, \`operator\`, \`tenant\`), \`x-required-scopes\` the scopes a tenant key needs (\`admin\` holds them all), \`x-required-role\` the tenant role (issuer or partner).

**Idempotency.** Operations with an \`Idempotency-Key\` header parameter need one: a unique value per intended operation, sent again unchanged on retries. A retry answers the first result with \`Idempotent-Replayed: true\`; the same key with another body is refused with \`IDEMPOTENCY_KEY_REUSED\`.

**Errors.** Every error is the \`Error\` schema: \`{ code, message, details, requestId }\`, with the HTTP status of its \`code\`, a stable reason listed in docs/errors.md. Each operation lists in \`${ERROR_CODES_EXTENSION}\` the codes that follow from how it is called: its access (\`UNAUTHENTICATED\`, \`FORBIDDEN\`, \`TENANT_SUSPENDED\`, \`ROLE_REQUIRED\`), its input (\`VALIDATION_FAILED\`, body and idempotency-key errors), the resource its path names (the \`*_NOT_FOUND\` code), the codes its description names, and \`RATE_LIMITED\`, \`SERVICE_UNAVAILABLE\` and \`INTERNAL_ERROR\`, which any operation can answer. The list is not exhaustive: business refusals (such as \`INSUFFICIENT_STICKERS\`) come on top and are answered under the \`default\` response. Any path also answers \`405 METHOD_NOT_ALLOWED\` (with \`Allow\`) for a method it does not take, and an unknown path \`404 ROUTE_NOT_FOUND\`.

**Rate limits.** Per API key (or per client IP without one); \`429 RATE_LIMITED\` carries \`Retry-After\` in seconds.

**Pagination.** Lists take \`limit\` and \`cursor\` and answer a page with \`nextCursor\` (\`null\` on the last page): pass it as \`cursor\` for the next page.`;

type Operation = Record<string, unknown> & {
  parameters?: { name: string; in: string; required?: boolean }[];
  requestBody?: { content?: Record<string, unknown> };
  responses?: Record<string, unknown>;
  summary?: string;
  description?: string;
};

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
const BODY_METHODS = new Set(['post', 'put', 'patch', 'delete']);

/** Every operation of the document, with its path and method. */
export function operationsOf(document: { paths?: Record<string, unknown> }): { path: string; method: string; operation: Operation }[] {
  return Object.entries(document.paths ?? {}).flatMap(([path, item]) =>
    HTTP_METHODS.flatMap((method) => {
      const operation = (item as Record<string, unknown> | undefined)?.[method] as Operation | undefined;
      return operation ? [{ path, method, operation }] : [];
    }),
  );
}

function isErrorCode(word: string): word is ErrorCode {
  return Object.hasOwn(ERROR_CODES, word);
}

/**
 * The reason codes an operation can answer with, derived from what the document says
 * about it: who may call it, its parameters and body, and the codes its own text names.
 * Sorted in the order of ERROR_CODES.
 */
export function errorCodesOf(method: string, operation: Operation): ErrorCode[] {
  const codes = new Set<ErrorCode>(['RATE_LIMITED', 'SERVICE_UNAVAILABLE', 'INTERNAL_ERROR']);
  const access = operation['x-access'];
  if (access !== 'public') {
    codes.add('UNAUTHENTICATED');
    // Every call with a tenant key checks its tenant is not suspended.
    codes.add('TENANT_SUSPENDED');
  }
  // Operator operations refuse tenant keys; tenant ones operator keys and missing scopes.
  if (access === 'operator' || access === 'tenant') codes.add('FORBIDDEN');
  if (operation['x-required-role']) codes.add('ROLE_REQUIRED');
  const parameters = operation.parameters ?? [];
  const bodyTypes = Object.keys(operation.requestBody?.content ?? {});
  if (parameters.some((p) => p.in !== 'header') || bodyTypes.length > 0) codes.add('VALIDATION_FAILED');
  if (BODY_METHODS.has(method)) {
    // The REST face parses a JSON body on every body method, declared or not.
    if (bodyTypes.length === 0 || bodyTypes.some((type) => type.includes('json'))) codes.add('MALFORMED_JSON');
    codes.add('UNSUPPORTED_MEDIA_TYPE');
    codes.add('PAYLOAD_TOO_LARGE');
  }
  if (parameters.some((p) => p.in === 'header' && p.name.toLowerCase() === 'idempotency-key')) {
    codes.add('IDEMPOTENCY_KEY_REQUIRED');
    codes.add('IDEMPOTENCY_KEY_REUSED');
  }
  for (const p of parameters) {
    const notFound = p.in === 'path' ? NOT_FOUND_BY_PATH_PARAMETER[p.name] : undefined;
    if (notFound) codes.add(notFound);
  }
  for (const word of `${operation.summary ?? ''} ${operation.description ?? ''}`.match(/\b[A-Z][A-Z0-9_]+\b/g) ?? []) {
    if (isErrorCode(word)) codes.add(word);
  }
  return (Object.keys(ERROR_CODES) as ErrorCode[]).filter((code) => codes.has(code));
}

/** One response per HTTP status the codes use, each naming its codes, plus `default` for the rest. */
function errorResponses(codes: ErrorCode[]): Record<string, unknown> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    const status = ERROR_CODES[code].httpStatus;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const responses: Record<string, unknown> = {};
  for (const [status, statusCodes] of [...byStatus].sort(([a], [b]) => a - b)) {
    const examples = Object.fromEntries(statusCodes.map((code) => [code, { $ref: `#/components/examples/${code}` }]));
    responses[String(status)] = {
      description: `${STATUS_TITLES[status] ?? 'Error'}: ${statusCodes.map((code) => `\`${code}\``).join(', ')}.`,
      ...(status === 429 && { headers: { 'Retry-After': { $ref: '#/components/headers/Retry-After' } } }),
      content: { 'application/json': { ...errorContent['application/json'], examples } },
    };
  }
  responses.default = { description: 'Any other refusal: `code` is one of the reasons in docs/errors.md.', content: errorContent };
  return responses;
}

const ERROR_SCHEMA: NonNullable<NonNullable<OpenApiDocument['components']>['schemas']>[string] = {
  type: 'object',
  description: 'The body of every error response, on both the REST and the tRPC face (there as `error.data`).',
  required: ['code', 'message', 'details'],
  properties: {
    code: {
      type: 'string',
      description: 'The stable reason: branch on this, not on the message. Codes are never renamed or reused.',
      enum: Object.keys(ERROR_CODES),
      'x-enum-descriptions': Object.values(ERROR_CODES).map((definition) => definition.meaning),
    },
    message: { type: 'string', description: 'For people: may change between versions.' },
    details: { type: 'object', additionalProperties: true, description: 'Machine-readable specifics of the reason (for example `issues` of VALIDATION_FAILED).' },
    requestId: { type: 'string', description: 'Quote it to the operator: the server logs carry it.' },
  },
};

/**
 * The OpenAPI 3.1 document of the REST face, from the same router the tRPC face
 * serves, plus the file routes (plain Express routes described by hand). Each
 * operation states who may call it (`x-access`, `x-required-scopes`,
 * `x-required-role`, `security`), and the error responses it can give
 * (`x-error-codes`, one response per status, all with the Error schema).
 */
export function buildOpenApiDocument(router: AnyTRPCRouter, version: string): OpenApiDocument {
  const document = generateOpenApiDocument(router, {
    title: 'Coalition Exchange API',
    version,
    baseUrl: '/api',
    description: INFO_DESCRIPTION,
    securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'cx_live_<id>_<secret> or cx_op_<id>_<secret>' } },
  });
  for (const [, procedure] of proceduresOf(router)) {
    const meta = procedure._def.meta as ProcedureMeta | undefined;
    if (!meta?.openapi) continue;
    const path = meta.openapi.path.replace(/\/$/, '');
    const operation = document.paths?.[path]?.[meta.openapi.method.toLowerCase() as 'get'] as Record<string, unknown> | undefined;
    if (!operation || !meta.access) continue;
    const scopes = meta.scopes ?? [];
    operation['x-access'] = meta.access;
    if (meta.access === 'tenant') operation['x-required-scopes'] = scopes;
    if (meta.role) operation['x-required-role'] = meta.role;
    const scopeNote = meta.access === 'tenant' && scopes.length ? ` Scopes: ${scopes.map((s) => `\`${s}\``).join(', ')} (or \`admin\`).` : '';
    const roleNote = meta.role ? ` For ${meta.role} tenants.` : '';
    operation.description = [operation.description, `${ACCESS_NOTES[meta.access]}${scopeNote}${roleNote}`].filter(Boolean).join('\n\n');
  }
  document.paths = { ...document.paths, ...(POOL_FILE_PATHS as NonNullable<OpenApiDocument['paths']>), ...(SETTLEMENT_FILE_PATHS as NonNullable<OpenApiDocument['paths']>) };

  const tags: string[] = [];
  for (const { method, operation } of operationsOf(document)) {
    // Public operations take no key; the generator marks every operation as protected.
    operation.security = operation['x-access'] === 'public' ? [] : [{ apiKey: [] }];
    const codes = errorCodesOf(method, operation);
    operation[ERROR_CODES_EXTENSION] = codes;
    // The generator's own error responses describe tRPC's error shape, not ours: replace them.
    const success = Object.entries(operation.responses ?? {}).filter(([status]) => /^[123]\d\d$/.test(status));
    operation.responses = { ...Object.fromEntries(success), ...errorResponses(codes) };
    for (const tag of (operation.tags as string[] | undefined) ?? []) if (!tags.includes(tag)) tags.push(tag);
  }

  document.tags = tags.map((name) => ({ name }));
  const components = (document.components ??= {});
  components.schemas = Object.fromEntries(Object.entries({ ...components.schemas, Error: ERROR_SCHEMA }).filter(([name]) => !name.startsWith('error.')));
  // One example body per reason, which the per-status responses pick from.
  (components as Record<string, unknown>).examples = Object.fromEntries(
    Object.entries(ERROR_CODES).map(([code, definition]) => [
      code,
      { summary: code, description: definition.meaning, value: { code, message: 'A sentence for people (do not parse it).', details: {}, requestId: 'V1StGXR8_Z5jdHi6B-myT' } },
    ]),
  );
  (components as Record<string, unknown>).headers = {
    'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'integer', minimum: 0 } },
  };
  return document;
}

/**
 * REST paths and the methods they accept, for answering a known path called with the
 * wrong method with 405 and an Allow header instead of a bare 404.
 */
export function restRouteTable(router: AnyTRPCRouter): { pattern: RegExp; method: string }[] {
  return proceduresOf(router).flatMap(([, procedure]) => {
    const openapi = (procedure._def.meta as ProcedureMeta | undefined)?.openapi;
    if (!openapi) return [];
    const pattern = new RegExp(`^${openapi.path.replace(/\{\w+\}/g, '[^/]+')}/?$`);
    return [{ pattern, method: openapi.method }];
  });
}
