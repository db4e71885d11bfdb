import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from './support/http-client.ts';
import { startTestSystem, type TestSystem } from './support/test-system.ts';

/**
 * Issue 9: the HTTP examples in README.md and docs/*.md are checked against the live
 * OpenAPI document (GET /api/openapi.json, which also lists the file routes), so a doc
 * cannot name a path, method, query parameter, header or body field the API lacks.
 *
 * Every fenced code block is scanned. Each `curl` command in it is parsed the way a
 * shell would (quotes, `\` continuations, comments) and checked for:
 *  - a URL on our API (`$BASE`, `$CX`, `http://127.0.0.1:3000`, `http://localhost:3000` + `/api/…`);
 *  - an OpenAPI path matching it (`{param}` segments match concrete values or placeholders)
 *    with an operation for its method, and path parameter values matching their schemas;
 *  - query parameters the operation declares (values checked against their schemas);
 *  - the headers the operation requires (`Idempotency-Key`, …), and `Authorization` unless
 *    the operation is public (`security: []`);
 *  - a `-d`/`--data` body that parses as JSON and validates strictly (no unknown fields)
 *    against the operation's request body schema; a body where the operation takes none;
 *    no body where it requires one; a Content-Type the operation accepts.
 * ```http blocks holding a request line to `/api/…` are checked the same way.
 *
 * Blocks that are intentionally not calls to our API are listed in SKIPPED_HTTP_BLOCKS with
 * the reason; an unlisted ```http block that is not a call to `/api` fails the test, so a
 * new one is a conscious decision. Non-curl shell lines (`npx …`, `export …`) are ignored.
 */
const SKIPPED_HTTP_BLOCKS: { file: string; firstLine: string; reason: string }[] = [
  { file: 'docs/errors.md', firstLine: 'HTTP/1.1 404 Not Found', reason: 'an example error response, not a request' },
  {
    file: 'docs/webhooks.md',
    firstLine: 'POST /hooks/coalition HTTP/1.1',
    reason: "a webhook delivery to the subscriber's own receiver, not a call to our API",
  },
];

/** Routes served outside the OpenAPI document itself. */
const NON_DOCUMENT_ROUTES = [{ method: 'GET', path: '/openapi.json' }];

const BASES = [/^\$\{?BASE\}?/, /^\$\{?CX\}?/, /^https?:\/\/127\.0\.0\.1:3000/, /^https?:\/\/localhost:3000/];

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// ajv-formats is CommonJS: under Node ESM its plugin is the default export's `default`.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv2020) => Ajv2020;

type Parameter = { name: string; in: string; required?: boolean; schema?: object };
type Operation = {
  parameters?: Parameter[];
  security?: unknown[];
  requestBody?: { required?: boolean; content?: Record<string, { schema?: object }> };
};

interface Example {
  file: string;
  line: number;
  method: string;
  url: string;
  headers: Map<string, string>;
  /** The body as given: JSON text for -d/--data, `@file` for --data-binary @file. */
  body?: string;
  text: string;
}

interface Block {
  file: string;
  line: number;
  lang: string;
  lines: string[];
}

function markdownFiles(): string[] {
  const docs = readdirSync(path.join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => `docs/${name}`);
  return ['README.md', ...docs];
}

function fencedBlocks(file: string): Block[] {
  const lines = readFileSync(path.join(root, file), 'utf8').split('\n');
  const blocks: Block[] = [];
  let open: { fence: string; block: Block } | undefined;
  lines.forEach((text, index) => {
    const fence = /^\s*(`{3,}|~{3,})\s*([\w-]*)/.exec(text);
    if (open) {
      if (fence && fence[1]!.startsWith(open.fence) && text.trim().replace(/[`~]/g, '') === '') {
        blocks.push(open.block);
        open = undefined;
      } else {
        open.block.lines.push(text);
      }
    } else if (fence) {
      open = { fence: fence[1]!, block: { file, line: index + 2, lang: fence[2] ?? '', lines: [] } };
    }
  });
  return blocks;
}

/** Shell words of a block, one array per command, with the line each command starts on. */
function shellCommands(block: Block): { line: number; words: string[] }[] {
  const text = block.lines.join('\n');
  const commands: { line: number; words: string[] }[] = [];
  let words: string[] = [];
  let word: string | undefined;
  let line = block.line;
  let start = line;
  const endWord = () => {
    if (word !== undefined) words.push(word);
    word = undefined;
  };
  const endCommand = () => {
    endWord();
    if (words.length) commands.push({ line: start, words });
    words = [];
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (words.length === 0 && word === undefined) start = line;
    if (c === '\n') {
      line++;
      endCommand();
    } else if (c === '\\' && text[i + 1] === '\n') {
      i++;
      line++;
      endWord();
    } else if (c === '\\') {
      word = (word ?? '') + (text[++i] ?? '');
    } else if (c === ' ' || c === '\t') {
      endWord();
    } else if (c === ';' || c === '|' || c === '&') {
      endCommand();
    } else if (c === '#' && word === undefined) {
      while (i + 1 < text.length && text[i + 1] !== '\n') i++;
    } else if (c === "'" || c === '"') {
      word ??= '';
      for (i++; i < text.length && text[i] !== c; i++) {
        if (text[i] === '\n') line++;
        if (c === '"' && text[i] === '\\' && /["\\$`]/.test(text[i + 1] ?? '')) i++;
        word += text[i];
      }
    } else {
      word = (word ?? '') + c;
    }
  }
  endCommand();
  return commands;
}

const OPTIONS_WITH_ARGUMENT = new Set(['-o', '--output', '-u', '--user', '-A', '--user-agent', '-m', '--max-time', '-w', '--write-out', '-e', '--referer']);
const DATA_OPTIONS = new Set(['-d', '--data', '--data-raw', '--data-binary', '--data-ascii']);

function curlExample(file: string, line: number, words: string[], problems: string[]): Example | undefined {
  let method: string | undefined;
  let url: string | undefined;
  let body: string | undefined;
  const headers = new Map<string, string>();
  const where = `${file}:${line}`;
  for (let i = 1; i < words.length; i++) {
    const word = words[i]!;
    const next = () => words[++i] ?? '';
    if (word === '-X' || word === '--request') method = next().toUpperCase();
    else if (word === '-H' || word === '--header') {
      const header = next();
      const colon = header.indexOf(':');
      headers.set(header.slice(0, colon).trim().toLowerCase(), header.slice(colon + 1).trim());
    } else if (DATA_OPTIONS.has(word)) body = next();
    else if (word === '--data-urlencode' || word === '-F' || word === '--form') problems.push(`${where}: curl ${word} is not checked by this test; use -d with JSON`);
    else if (OPTIONS_WITH_ARGUMENT.has(word)) next();
    else if (word.startsWith('-')) continue;
    else if (url === undefined) url = word;
    else problems.push(`${where}: curl has a second URL "${word}"`);
  }
  if (!url) {
    problems.push(`${where}: curl without a URL`);
    return undefined;
  }
  return { file, line, method: method ?? (body !== undefined ? 'POST' : 'GET'), url, headers, ...(body !== undefined ? { body } : {}), text: words.join(' ') };
}

function httpExample(block: Block, problems: string[]): Example | 'skipped' | undefined {
  const firstLine = (block.lines.find((l) => l.trim() !== '') ?? '').trim();
  if (SKIPPED_HTTP_BLOCKS.some((s) => s.file === block.file && s.firstLine === firstLine)) return 'skipped';
  const requestLine = /^([A-Z]+)\s+(\S+)(?:\s+HTTP\/[\d.]+)?$/.exec(firstLine);
  if (!requestLine || !requestLine[2]!.startsWith('/api/')) {
    problems.push(`${block.file}:${block.line}: \`\`\`http block "${firstLine}" is not a request to /api: check it or list it in SKIPPED_HTTP_BLOCKS with a reason`);
    return undefined;
  }
  const headers = new Map<string, string>();
  const start = block.lines.indexOf(block.lines.find((l) => l.trim() !== '')!);
  let i = start + 1;
  for (; i < block.lines.length && block.lines[i]!.trim() !== ''; i++) {
    const l = block.lines[i]!;
    headers.set(l.slice(0, l.indexOf(':')).trim().toLowerCase(), l.slice(l.indexOf(':') + 1).trim());
  }
  const body = block.lines.slice(i + 1).join('\n').trim();
  return { file: block.file, line: block.line + start, method: requestLine[1]!, url: requestLine[2]!, headers, ...(body ? { body } : {}), text: firstLine };
}

/** Every example in the docs, plus the problems found while extracting them. */
function extractExamples() {
  const examples: Example[] = [];
  const problems: string[] = [];
  const skipped: string[] = [];
  let curlLines = 0;
  for (const file of markdownFiles()) {
    for (const block of fencedBlocks(file)) {
      curlLines += block.lines.filter((l) => /^\s*curl\b/.test(l) || /[;|&]\s*curl\b/.test(l)).length;
      if (block.lang === 'http') {
        const example = httpExample(block, problems);
        if (example === 'skipped') skipped.push(`${file}:${block.line}`);
        else if (example) examples.push(example);
        continue;
      }
      for (const { line, words } of shellCommands(block)) {
        if (words[0] !== 'curl') continue;
        const example = curlExample(file, line, words, problems);
        if (example) examples.push(example);
      }
    }
  }
  return { examples, problems, skipped, curlLines };
}

let system: TestSystem;
let spec: { paths: Record<string, Record<string, Operation>>; components?: object };
const ajv = new Ajv2020({ strict: false, allErrors: true });
const coercingAjv = new Ajv2020({ strict: false, allErrors: true, coerceTypes: true });
addFormats(ajv);
addFormats(coercingAjv);

beforeAll(async () => {
  system = await startTestSystem();
  const res = await request(system.baseUrl, 'GET', '/api/openapi.json');
  expect(res.status).toBe(200);
  spec = res.body;
});
afterAll(() => system?.stop());

/**
 * A copy of a schema in which every object without its own rule refuses unknown fields
 * (a union's branches carry their own, so the object holding `oneOf`/`anyOf`/`allOf` is left alone).
 */
function strict(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(strict);
  if (!schema || typeof schema !== 'object') return schema;
  const copy: Record<string, unknown> = Object.fromEntries(Object.entries(schema).map(([key, value]) => [key, key === 'properties' ? Object.fromEntries(Object.entries(value as object).map(([name, property]) => [name, strict(property)])) : strict(value)]));
  if ((copy.type === 'object' || copy.properties) && copy.additionalProperties === undefined && copy.patternProperties === undefined && !copy.oneOf && !copy.anyOf && !copy.allOf) copy.additionalProperties = false;
  return copy;
}

const validators = new Map<object, ValidateFunction>();
function validatorFor(schema: object, coerce = false): ValidateFunction {
  let validate = validators.get(schema);
  if (!validate) {
    // The document's components ride along so `#/components/schemas/…` references resolve.
    validate = (coerce ? coercingAjv : ajv).compile({ ...(strict(schema) as object), components: spec.components ?? {} });
    validators.set(schema, validate);
  }
  return validate;
}
const errorsOf = (validate: ValidateFunction) => (validate.errors ?? []).map((e) => `${e.instancePath || '(root)'} ${e.message}${e.params && 'additionalProperty' in e.params ? ` "${String(e.params.additionalProperty)}"` : ''}`).join('; ');

/** A placeholder rather than a concrete value: `$VAR`, `${VAR}`, `…`, `<id>`, `{id}`. */
const isPlaceholder = (value: string) => /^\$|…|^<.*>$|^\{.*\}$/.test(value);

function findOperation(apiPath: string) {
  const segments = apiPath.split('/');
  let best: { template: string; params: Record<string, string>; literals: number } | undefined;
  for (const template of Object.keys(spec.paths)) {
    const parts = template.split('/');
    if (parts.length !== segments.length) continue;
    const params: Record<string, string> = {};
    let literals = 0;
    const matches = parts.every((part, i) => {
      const param = /^\{(.+)\}$/.exec(part);
      if (param) {
        params[param[1]!] = decodeURIComponent(segments[i]!);
        return segments[i] !== '';
      }
      literals++;
      return part === segments[i];
    });
    if (matches && (!best || literals > best.literals)) best = { template, params, literals };
  }
  return best;
}

function checkExample(example: Example): string[] {
  const problems: string[] = [];
  const fail = (message: string) => problems.push(`${example.file}:${example.line}: ${example.method} ${example.url}: ${message}`);
  let rest = example.url;
  const base = BASES.find((b) => b.test(rest));
  if (base) rest = rest.replace(base, '');
  if (!rest.startsWith('/api/')) {
    fail('not a URL on our API (expected $BASE, $CX or http://127.0.0.1:3000 followed by /api/…)');
    return problems;
  }
  const [pathPart, query = ''] = rest.slice('/api'.length).split('?', 2) as [string, string?];
  if (NON_DOCUMENT_ROUTES.some((r) => r.method === example.method && r.path === pathPart)) return problems;

  const found = findOperation(pathPart);
  if (!found) {
    fail(`no path ${pathPart} in the OpenAPI document`);
    return problems;
  }
  const operation = spec.paths[found.template]![example.method.toLowerCase()];
  if (!operation) {
    fail(`${found.template} has no ${example.method} operation (it has ${Object.keys(spec.paths[found.template]!).map((m) => m.toUpperCase()).join(', ')})`);
    return problems;
  }
  const parameters = operation.parameters ?? [];
  const checkValue = (where: string, parameter: Parameter | undefined, value: string) => {
    if (!parameter?.schema || isPlaceholder(value)) return;
    const validate = validatorFor(parameter.schema, true);
    if (!validate(value)) fail(`${where} ${parameter.name}="${value}" does not match its schema: ${errorsOf(validate)}`);
  };

  for (const [name, value] of Object.entries(found.params)) checkValue('path parameter', parameters.find((p) => p.in === 'path' && p.name === name), value);

  const queryNames = new Set<string>();
  for (const [name, value] of new URLSearchParams(query)) {
    queryNames.add(name);
    const parameter = parameters.find((p) => p.in === 'query' && p.name === name);
    if (!parameter) fail(`query parameter "${name}" is not one of ${found.template}'s (${parameters.filter((p) => p.in === 'query').map((p) => p.name).join(', ') || 'none'})`);
    else checkValue('query parameter', parameter, value);
  }
  for (const parameter of parameters) {
    if (parameter.in === 'query' && parameter.required && !queryNames.has(parameter.name)) fail(`required query parameter "${parameter.name}" is missing`);
    if (parameter.in === 'header') {
      const value = example.headers.get(parameter.name.toLowerCase());
      if (value === undefined) {
        if (parameter.required) fail(`required header ${parameter.name} is missing`);
      } else checkValue('header', parameter, value);
    }
  }
  const isPublic = Array.isArray(operation.security) && operation.security.length === 0;
  if (!isPublic && !/^Bearer \S+/.test(example.headers.get('authorization') ?? '')) fail('needs an API key but sends no "Authorization: Bearer …" header');

  const content = operation.requestBody?.content;
  if (example.body === undefined) {
    if (operation.requestBody?.required) fail(`the operation requires a request body (${Object.keys(content ?? {}).join(', ')}) but none is sent`);
    return problems;
  }
  if (!content) {
    fail('sends a body, but the operation takes none');
    return problems;
  }
  const declared = (example.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  const mediaType = declared || (example.body.startsWith('@') ? '' : 'application/json');
  if (!content[mediaType]) {
    fail(`Content-Type "${mediaType || '(none)'}" is not one the operation accepts (${Object.keys(content).join(', ')})`);
    return problems;
  }
  if (mediaType !== 'application/json') return problems; // a file (@codes.csv): only its type can be checked
  let body: unknown;
  try {
    body = JSON.parse(example.body);
  } catch (error) {
    fail(`the body is not valid JSON (${(error as Error).message}): ${example.body}`);
    return problems;
  }
  const schema = content[mediaType]!.schema;
  if (schema) {
    const validate = validatorFor(schema);
    if (!validate(body)) fail(`the body does not match the request schema: ${errorsOf(validate)}`);
  }
  return problems;
}

describe('HTTP examples in the docs', () => {
  const extracted = extractExamples();

  it('finds every curl command in the fenced blocks, and skips only the listed non-API blocks', () => {
    expect(extracted.problems).toEqual([]);
    // Each line starting a curl command yields exactly one example: none slips past the parser.
    expect(extracted.examples.filter((e) => e.text.startsWith('curl')).length).toBe(extracted.curlLines);
    expect(extracted.examples.length).toBeGreaterThanOrEqual(50);
    expect(extracted.skipped.length).toBe(SKIPPED_HTTP_BLOCKS.length);
  });

  it('names only paths, methods, parameters, headers and bodies the live OpenAPI document has', () => {
    const problems = extracted.examples.flatMap(checkExample);
    expect(problems, `\n${problems.join('\n')}\n`).toEqual([]);
  });

  it('fails on a path the API does not have (the checker itself works)', () => {
    const probe = (url: string, extra: Partial<Example> = {}) =>
      checkExample({ file: 'probe.md', line: 1, method: 'GET', url, headers: new Map([['authorization', 'Bearer $KEY']]), text: 'curl', ...extra });
    expect(probe('$BASE/api/v1/no-such-thing')).toEqual([expect.stringContaining('no path /v1/no-such-thing')]);
    expect(probe('$BASE/api/v1/redemptions?nope=1')).toEqual([expect.stringContaining('query parameter "nope"')]);
    expect(probe('$BASE/api/v1/redemptions', { method: 'POST', body: '{"code":"X","orderRef":"1","orderAmountMinor":1,"currency":"RUB"}', headers: new Map([['authorization', 'Bearer $KEY']]) })).toEqual([
      expect.stringContaining('Idempotency-Key'),
    ]);
    expect(probe('$BASE/api/v1/codes/find', { method: 'POST', body: '{"code":"X","extra":1}' })).toEqual([expect.stringContaining('"extra"')]);
  });
});
