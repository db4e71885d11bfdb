/**
 * The settlement file routes (http-routes.ts) in OpenAPI terms: plain Express routes,
 * which the document generator cannot see.
 */
import { REPORT_COLUMNS } from './reconciliation-file.ts';
import { ENTRY_COLUMNS, SUMMARY_COLUMNS } from './statement-exports.ts';

const errorResponse = { description: 'Error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
const csv = (description: string) => ({ description, content: { 'text/csv': { schema: { type: 'string' } } } });
const statementId = { name: 'statementId', in: 'path', required: true, schema: { type: 'string', pattern: '^stm_[0-9A-Za-z]{12}$' } };
const access = (scopes: string[]) => ({ security: [{ apiKey: [] }], 'x-access': 'tenant', 'x-required-scopes': scopes });
const partiesOnly = 'Either party of the agreement; anyone else gets 404 STATEMENT_NOT_FOUND. See docs/finance-guide.md.';

export const SETTLEMENT_FILE_PATHS: Record<string, Record<string, unknown>> = {
  '/v1/settlement/statements/{statementId}/summary.csv': {
    get: {
      operationId: 'settlement-summaryCsv',
      tags: ['settlement'],
      summary: `The statement's lines and totals as CSV: ${SUMMARY_COLUMNS.join(',')}`,
      description: `${partiesOnly} Tenant API key; scope \`settlement:read\` (or \`admin\`).`,
      parameters: [statementId],
      responses: { '200': csv('One row per line (row_type line), then one per currency (row_type total)'), default: errorResponse },
      ...access(['settlement:read']),
    },
  },
  '/v1/settlement/statements/{statementId}/entries.csv': {
    get: {
      operationId: 'settlement-entriesCsv',
      tags: ['settlement'],
      summary: `Every entry the statement covers, per voucher, as CSV: ${ENTRY_COLUMNS.join(',')}`,
      description: `${partiesOnly} Tenant API key; scope \`settlement:read\` (or \`admin\`).`,
      parameters: [statementId],
      responses: { '200': csv('One row per settlement entry, in entry order'), default: errorResponse },
      ...access(['settlement:read']),
    },
  },
  '/v1/settlement/statements/{statementId}/statement.html': {
    get: {
      operationId: 'settlement-statementHtml',
      tags: ['settlement'],
      summary: 'The statement as a printable HTML page (print to PDF from the browser)',
      description: `${partiesOnly} Tenant API key; scope \`settlement:read\` (or \`admin\`).`,
      parameters: [statementId],
      responses: { '200': { description: 'The page', content: { 'text/html': { schema: { type: 'string' } } } }, default: errorResponse },
      ...access(['settlement:read']),
    },
  },
  '/v1/settlement/statements/{statementId}/reconciliations': {
    post: {
      operationId: 'settlement-reconcile',
      tags: ['settlement'],
      summary: 'Upload your own list of the period (CSV) and compare it with the statement',
      description:
        'The raw file is the body (text/csv, UTF-8). Columns: `voucher_id` and/or `code`, `order_ref`, `amount` (decimal) or `amount_minor`, optional `currency`, `redeemed_at`. ' +
        `Answers 201 with the counts; the report is at GET /v1/settlement/reconciliations/{reconciliationId}/report.csv. ${partiesOnly} Tenant API key; scope \`settlement:write\` (or \`admin\`).`,
      parameters: [statementId, { name: 'filename', in: 'query', schema: { type: 'string', maxLength: 255 } }],
      requestBody: { required: true, content: { 'text/csv': { schema: { type: 'string', format: 'binary' } } } },
      responses: {
        '201': { description: 'The reconciliation (see GET /v1/settlement/reconciliations/{reconciliationId})', content: { 'application/json': { schema: { type: 'object' } } } },
        default: errorResponse,
      },
      ...access(['settlement:write']),
    },
  },
  '/v1/settlement/reconciliations/{reconciliationId}/report.csv': {
    get: {
      operationId: 'settlement-reconciliationReport',
      tags: ['settlement'],
      summary: `The reconciliation report: ${REPORT_COLUMNS.join(',')}`,
      description: 'Only the tenant that uploaded the file. Tenant API key; scope `settlement:read` (or `admin`).',
      parameters: [{ name: 'reconciliationId', in: 'path', required: true, schema: { type: 'string', pattern: '^rec_[0-9A-Za-z]{12}$' } }],
      responses: { '200': csv('Discrepancies first, then matches, then unreadable rows'), default: errorResponse },
      ...access(['settlement:read']),
    },
  },
};
