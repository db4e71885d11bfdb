import { randomUUID } from 'node:crypto';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../server/src/errors/error-codes.ts';
import { ERROR_CODES_EXTENSION, NOT_FOUND_BY_PATH_PARAMETER, operationsOf, proceduresOf } from '../server/src/http/openapi.ts';
import { POOL_FILE_PATHS } from '../server/src/pools/openapi-file-routes.ts';
import { SETTLEMENT_FILE_PATHS } from '../server/src/settlement/openapi-file-routes.ts';
import { appRouter } from '../server/src/trpc/app-router.ts';
import type { ProcedureMeta } from '../server/src/trpc/trpc.ts';
import { operatorKey, tenantWithKey } from './support/factories.ts';
import { request, type ApiResponse } from './support/http-client.ts';
import { startTestSystem, type TestSystem } from './support/test-system.ts';

let system: TestSystem;
let operator: string;
/** Admin keys: of an issuer-and-partner tenant, an issuer-only one and a partner-only one. */
let both: string;
let issuerOnly: string;
let partnerOnly: string;
// The document as served: JSON, checked field by field below.
let spec: any;

beforeAll(async () => {
  system = await startTestSystem();
  operator = await operatorKey(system.services);
  both = (await tenantWithKey(system.services, { roles: ['issuer', 'partner'] })).key;
  issuerOnly = (await tenantWithKey(system.services, { roles: ['issuer'] })).key;
  partnerOnly = (await tenantWithKey(system.services, { roles: ['partner'] })).key;
  const res = await request(system.baseUrl, 'GET', '/api/openapi.json');
  expect(res.status).toBe(200);
  spec = res.body;
});
afterAll(() => system.stop());

type Operation = {
  operationId?: string;
  summary?: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  parameters?: { name: string; in: string; required?: boolean; schema?: { pattern?: string } }[];
  requestBody?: { required?: boolean; content?: Record<string, { schema?: unknown }> };
  responses: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }>;
  'x-access'?: string;
  'x-required-scopes'?: string[];
  'x-required-role'?: string;
  'x-error-codes'?: string[];
  description?: string;
};
const operations = () => operationsOf(spec) as { path: string; method: string; operation: Operation }[];
const label = ({ method, path }: { method: string; path: string }) => `${method.toUpperCase()} ${path}`;

describe('REST face', () => {
  it('gives every procedure a REST route with a summary and tags, present in the OpenAPI document', () => {
    const problems: string[] = [];
    for (const [name, procedure] of proceduresOf(appRouter)) {
      const meta = procedure._def.meta as ProcedureMeta | undefined;
      if (!meta?.access) problems.push(`${name}: no access (build it from publicProcedure, tenantProcedure, …)`);
      const openapi = meta?.openapi;
      if (!openapi) {
        problems.push(`${name}: no meta.openapi, so no REST route`);
        continue;
      }
      if (!openapi.summary?.trim()) problems.push(`${name}: no openapi.summary`);
      if (!openapi.tags?.length) problems.push(`${name}: no openapi.tags`);
      if (!spec.paths[openapi.path.replace(/\/$/, '')]?.[openapi.method.toLowerCase()]) problems.push(`${name}: ${openapi.method} ${openapi.path} missing from /api/openapi.json`);
    }
    expect(problems).toEqual([]);
  });
});

describe('OpenAPI spec', () => {
  it('is served at /api/openapi.json as OpenAPI 3.1 with every REST operation and its access rules', async () => {
    expect(spec.openapi).toMatch(/^3\.1/);
    expect(spec.servers).toEqual([{ url: '/api' }]);
    expect(Object.keys(spec.paths)).toEqual(expect.arrayContaining(['/v1/me', '/v1/api-keys', '/v1/operator/tenants/{slug}']));
    const create = spec.paths['/v1/api-keys'].post;
    expect(create['x-access']).toBe('tenant');
    expect(create['x-required-scopes']).toEqual(['admin']);
    const purchase = spec.paths['/v1/pos/purchases'].post;
    expect(purchase).toMatchObject({ 'x-access': 'tenant', 'x-required-scopes': ['pos:write'], 'x-required-role': 'issuer' });
    expect(purchase.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`)).toContain('header:Idempotency-Key');
    expect(spec.components.schemas.Error.properties.code.enum).toEqual(Object.keys(ERROR_CODES));
    // The streamed file routes are plain Express routes, described by hand.
    expect(spec.paths['/v1/offers/{offerId}/code-batches/upload'].post).toMatchObject({ 'x-required-scopes': ['pools:write'], 'x-required-role': 'partner' });
    expect(spec.paths['/v1/offers/{offerId}/codes/export'].post['x-required-scopes']).toEqual(['codes:export']);
  });

  it('passes the standard OpenAPI schema validator, every $ref resolving', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(spec));
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('includes the file routes', () => {
    for (const [path, item] of Object.entries({ ...POOL_FILE_PATHS, ...SETTLEMENT_FILE_PATHS })) {
      for (const method of Object.keys(item)) expect(spec.paths[path]?.[method], `${method} ${path}`).toBeDefined();
    }
  });

  it('describes each operation: unique operationId, summary, tags, a 2xx schema, security and Error responses', () => {
    expect(spec.components.securitySchemes.apiKey).toMatchObject({ type: 'http', scheme: 'bearer' });
    const ids = new Set<string>();
    const problems: string[] = [];
    for (const entry of operations()) {
      const { operation: op } = entry;
      const at = label(entry);
      if (!op.operationId) problems.push(`${at}: no operationId`);
      else if (ids.has(op.operationId)) problems.push(`${at}: duplicate operationId ${op.operationId}`);
      else ids.add(op.operationId);
      if (!op.summary?.trim()) problems.push(`${at}: no summary`);
      if (!op.tags?.length) problems.push(`${at}: no tags`);
      const success = Object.entries(op.responses).filter(([status]) => /^2\d\d$/.test(status));
      if (!success.some(([, response]) => Object.values(response.content ?? {}).some((media) => media.schema !== undefined))) problems.push(`${at}: no 2xx response with a schema`);
      for (const [status, response] of Object.entries(op.responses)) {
        if (/^[23]\d\d$/.test(status)) continue;
        if (response.content?.['application/json']?.schema?.$ref !== '#/components/schemas/Error') problems.push(`${at}: response ${status} is not the Error schema`);
      }
      if (!op.responses.default) problems.push(`${at}: no default (Error) response`);

      const access = op['x-access'];
      if (!['public', 'authenticated', 'operator', 'tenant'].includes(access ?? '')) problems.push(`${at}: x-access is ${access}`);
      const security = JSON.stringify(op.security);
      if (security !== (access === 'public' ? '[]' : '[{"apiKey":[]}]')) problems.push(`${at}: security ${security} for ${access} access`);
      if (access === 'tenant') {
        const scopes = op['x-required-scopes'];
        if (!Array.isArray(scopes)) problems.push(`${at}: no x-required-scopes`);
        else for (const scope of scopes) if (!op.description?.includes(`\`${scope}\``)) problems.push(`${at}: description does not name scope ${scope}`);
      }

      const codes = op[ERROR_CODES_EXTENSION];
      if (!Array.isArray(codes) || codes.length === 0) {
        problems.push(`${at}: no ${ERROR_CODES_EXTENSION}`);
        continue;
      }
      for (const code of codes) {
        if (!Object.hasOwn(ERROR_CODES, code)) problems.push(`${at}: unknown code ${code}`);
        else if (!op.responses[String(ERROR_CODES[code as keyof typeof ERROR_CODES].httpStatus)]) problems.push(`${at}: no response for the status of ${code}`);
      }
      const expected = ['RATE_LIMITED', 'INTERNAL_ERROR', ...(access === 'public' ? [] : ['UNAUTHENTICATED'])];
      for (const code of expected) if (!codes.includes(code)) problems.push(`${at}: ${code} missing from ${ERROR_CODES_EXTENSION}`);
    }
    expect(problems).toEqual([]);
    expect(ids.size).toBeGreaterThan(100);
  });
});

/** A well-formed value for a path parameter that names nothing that exists. */
function absentValue(parameter: { name: string; schema?: { pattern?: string } }): string {
  const pattern = parameter.schema?.pattern ?? '';
  const id = /^\^([a-z]*_)?\[0-9A-Za-z\]\{(\d+)\}\$$/.exec(pattern);
  if (id) return `${id[1] ?? ''}${'Z'.repeat(Number(id[2]))}`;
  if (parameter.name === 'ruleId') return 'no.such_rule';
  if (pattern.startsWith('^[a-z]')) return 'no-such-tenant';
  throw new Error(`No absent value for path parameter ${parameter.name} (pattern ${pattern}): teach absentValue its format`);
}

/** Calls an operation the way a client would, with a minimal body of its media type. */
function call(entry: { path: string; method: string; operation: Operation }, key: string | undefined): Promise<ApiResponse> {
  const { operation } = entry;
  let path = entry.path;
  for (const parameter of operation.parameters ?? []) {
    if (parameter.in === 'path') path = path.replace(`{${parameter.name}}`, absentValue(parameter));
  }
  const headers: Record<string, string> = { 'idempotency-key': randomUUID() };
  const method = entry.method.toUpperCase();
  if (method === 'GET') return request(system.baseUrl, method, `/api${path}`, { key, headers });
  if (operation.requestBody?.content?.['text/csv']) {
    return request(system.baseUrl, method, `/api${path}`, { key, headers: { ...headers, 'content-type': 'text/csv' }, rawBody: 'code\nABCDEFGH\n' });
  }
  return request(system.baseUrl, method, `/api${path}`, { key, headers, body: {} });
}

describe('x-error-codes', () => {
  // Each probe's answer must be one of the codes the operation documents.
  const expectDocumented = (entry: { path: string; method: string; operation: Operation }, res: ApiResponse, problems: string[]) => {
    const codes = entry.operation[ERROR_CODES_EXTENSION] ?? [];
    if (res.status >= 400 && !codes.includes(res.body?.code)) problems.push(`${label(entry)}: answered ${res.status} ${res.body?.code ?? ''}, not in ${ERROR_CODES_EXTENSION}`);
  };

  it('hold for a call without a key, with the wrong kind of key, and from a tenant without the role', async () => {
    const problems: string[] = [];
    for (const entry of operations()) {
      const { operation: op } = entry;
      const access = op['x-access'];
      if (access === 'public') continue;
      const anonymous = await call(entry, undefined);
      if (anonymous.status !== 401 || anonymous.body.code !== 'UNAUTHENTICATED') problems.push(`${label(entry)}: without a key answered ${anonymous.status} ${anonymous.body.code}`);
      expectDocumented(entry, anonymous, problems);
      const wrongKind = access === 'operator' ? both : access === 'tenant' ? operator : undefined;
      if (wrongKind) {
        const res = await call(entry, wrongKind);
        if (res.status !== 403 || res.body.code !== 'FORBIDDEN') problems.push(`${label(entry)}: with the wrong kind of key answered ${res.status} ${res.body.code}`);
        expectDocumented(entry, res, problems);
      }
      const role = op['x-required-role'];
      if (role) {
        const res = await call(entry, role === 'issuer' ? partnerOnly : issuerOnly);
        if (res.status !== 403 || res.body.code !== 'ROLE_REQUIRED') problems.push(`${label(entry)}: from a tenant without the ${role} role answered ${res.status} ${res.body.code}`);
        expectDocumented(entry, res, problems);
      }
    }
    expect(problems).toEqual([]);
  });

  it('name the *_NOT_FOUND code an operation answers for a path naming nothing', async () => {
    const problems: string[] = [];
    let probed = 0;
    for (const entry of operations()) {
      const { operation: op } = entry;
      const pathParameters = (op.parameters ?? []).filter((p) => p.in === 'path');
      if (pathParameters.length === 0) continue;
      const key = op['x-access'] === 'public' ? undefined : op['x-access'] === 'operator' ? operator : both;
      const res = await call(entry, key);
      probed += 1;
      expectDocumented(entry, res, problems);
      const notFound = pathParameters.map((p) => NOT_FOUND_BY_PATH_PARAMETER[p.name]);
      if (notFound.includes(undefined)) problems.push(`${label(entry)}: path parameter without a NOT_FOUND_BY_PATH_PARAMETER entry`);
      // An empty body can fail validation first; anything else must be the not-found code.
      const bodyRefused = op.requestBody !== undefined && res.status === 400 && res.body.code === 'VALIDATION_FAILED';
      if (!bodyRefused && (res.status !== 404 || !notFound.includes(res.body.code))) problems.push(`${label(entry)}: answered ${res.status} ${res.body.code}, expected 404 ${notFound.join(' or ')}`);
    }
    expect(problems).toEqual([]);
    expect(probed).toBeGreaterThan(50);
  });
});

describe('API reference page', () => {
  it('is served at /docs/api without a key, rate limited, under a same-origin-only CSP', async () => {
    const res = await fetch(`${system.baseUrl}/docs/api`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('ratelimit-limit')).toBe(system.config.rateLimits.perIpPerMinute.toString());
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:|\*/);
    const html = await res.text();
    expect(html).toContain('id="swagger-ui"');
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline script
    expect(html).not.toMatch(/\sstyle=|<style/);
  });

  it('references only same-origin assets, each served with its content type and cached', async () => {
    const html = await (await fetch(`${system.baseUrl}/docs/api`)).text();
    const references = [...html.matchAll(/<(script|link)\b[^>]*\b(?:src|href)="([^"]+)"[^>]*>/g)].map((m) => ({ tag: m[1]!, url: m[2]!, element: m[0] }));
    expect(references.length).toBeGreaterThanOrEqual(3);
    const scripts: string[] = [];
    for (const { tag, url, element } of references) {
      expect(url, `${url} is not same-origin`).toMatch(/^\/(?!\/)/);
      const asset = await fetch(`${system.baseUrl}${url}`);
      expect(asset.status, url).toBe(200);
      const type = asset.headers.get('content-type') ?? '';
      if (tag === 'script') expect(type, url).toMatch(/^(text|application)\/javascript/);
      else if (element.includes('stylesheet')) expect(type, url).toMatch(/^text\/css/);
      else expect(type, url).toMatch(/^image\//);
      expect(asset.headers.get('cache-control'), url).toMatch(/immutable/);
      expect(asset.headers.get('x-content-type-options'), url).toBe('nosniff');
      const body = await asset.text();
      expect(body.length, url).toBeGreaterThan(0);
      if (tag === 'script') scripts.push(body);
    }
    expect(references.filter((r) => r.tag === 'script')).toHaveLength(2);
    // The bundle, then the script starting it on the spec this server serves.
    expect(scripts.join('\n')).toContain('SwaggerUIBundle');
    expect(scripts.at(-1)).toContain("url: '/api/openapi.json'");
    // A repeat load revalidates cheaply.
    const bundle = references.find((r) => r.url.endsWith('swagger-ui-bundle.js'))!.url;
    const first = await fetch(`${system.baseUrl}${bundle}`);
    const again = await fetch(`${system.baseUrl}${bundle}`, {
      // Without its own Cache-Control, fetch adds "no-cache", which forbids a 304.
      headers: { 'if-none-match': first.headers.get('etag')!, 'cache-control': 'max-age=0' },
    });
    expect(again.status).toBe(304);
  });

  it('serves nothing else from the package', async () => {
    const html = await (await fetch(`${system.baseUrl}/docs/api`)).text();
    const base = /href="([^"]+)\/swagger-ui\.css"/.exec(html)![1]!;
    for (const path of [`${base}/package.json`, `${base}/index.html`, `${base}/..%2Fpackage.json`, `/docs/api/assets/0.0.0/swagger-ui.css`]) {
      expect((await fetch(`${system.baseUrl}${path}`)).status, path).toBe(404);
    }
  });
});
