/**
 * The pool file routes (http-routes.ts) in OpenAPI terms: they are plain Express
 * routes, not procedures, so the document generator cannot see them.
 */
const errorResponse = { description: 'Error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
const csv = (description: string) => ({ description, content: { 'text/csv': { schema: { type: 'string' } } } });
const offerId = { name: 'offerId', in: 'path', required: true, schema: { type: 'string', pattern: '^off_[0-9A-Za-z]{12}$' } };
const partnerAccess = (scopes: string[]) => ({
  security: [{ apiKey: [] }],
  'x-access': 'tenant',
  'x-required-scopes': scopes,
  'x-required-role': 'partner',
});

export const POOL_FILE_PATHS: Record<string, Record<string, unknown>> = {
  '/v1/offers/{offerId}/code-batches/upload': {
    post: {
      operationId: 'codeBatches-upload',
      tags: ['code batches'],
      summary: 'Upload a CSV of codes (streamed; imported by a job)',
      description:
        'The raw file is the body (text/csv; Content-Encoding: gzip accepted). Answers 202 with the queued batch and a Location to poll; a retry with the same Idempotency-Key answers 200 with the first batch. See docs/partner-guide.md. Tenant API key; scope `pools:write` (or `admin`). For partner tenants.',
      parameters: [
        offerId,
        { name: 'name', in: 'query', schema: { type: 'string', maxLength: 200 } },
        { name: 'filename', in: 'query', schema: { type: 'string', maxLength: 255 } },
        { name: 'expiresAt', in: 'query', schema: { type: 'string', format: 'date-time' } },
        { name: 'delimiter', in: 'query', schema: { type: 'string', enum: [',', ';', 'tab', '|', 'comma', 'semicolon', 'pipe'] } },
        { name: 'Idempotency-Key', in: 'header', schema: { type: 'string', maxLength: 255 } },
      ],
      requestBody: { required: true, content: { 'text/csv': { schema: { type: 'string', format: 'binary' } } } },
      responses: {
        '202': { description: 'Received and queued: the batch (see GET /v1/code-batches/{batchId})', content: { 'application/json': { schema: { type: 'object' } } } },
        '200': { description: 'An earlier upload with this Idempotency-Key', content: { 'application/json': { schema: { type: 'object' } } } },
        default: errorResponse,
      },
      ...partnerAccess(['pools:write']),
    },
  },
  '/v1/code-batches/{batchId}/rejects.csv': {
    get: {
      operationId: 'codeBatches-rejects',
      tags: ['code batches'],
      summary: 'The reject report of a batch: line,code,reason,detail',
      description: 'Tenant API key; scope `pools:write` (or `admin`). For partner tenants.',
      parameters: [{ name: 'batchId', in: 'path', required: true, schema: { type: 'string', pattern: '^bat_[0-9A-Za-z]{12}$' } }],
      responses: { '200': csv('One row per rejected line, in line order'), default: errorResponse },
      ...partnerAccess(['pools:write']),
    },
  },
  '/v1/offers/{offerId}/codes/export': {
    post: {
      operationId: 'codes-export',
      tags: ['codes'],
      summary: 'Export full codes (audited): code,status,expires_at,batch_id,issued_at',
      description: 'The only bulk way full codes leave the API. The reason, filter and count are written to the audit log first. Tenant API key; scope `codes:export` (or `admin`). For partner tenants.',
      parameters: [offerId],
      requestBody: {
        required: true,
        content: {
          'application/json': {
            schema: {
              type: 'object',
              required: ['reason'],
              additionalProperties: false,
              properties: {
                reason: { type: 'string', minLength: 1, maxLength: 500 },
                status: { type: 'string', enum: ['available', 'reserved', 'issued', 'redeemed', 'expired', 'voided'], default: 'available' },
                batchId: { type: 'string' },
              },
            },
          },
        },
      },
      responses: { '200': csv('The codes'), default: errorResponse },
      ...partnerAccess(['codes:export']),
    },
  },
};
