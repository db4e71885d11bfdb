// Rewrites the error table in docs/errors.md from server/src/errors/error-codes.ts.
// Run: npm run docs:errors   (npm test fails when the table is out of date)
import { readFile, writeFile } from 'node:fs/promises';
import { TRPC_ERROR_CODES_BY_KEY } from '@trpc/server/rpc';
import { ERROR_CODES } from '../server/src/errors/error-codes.ts';

const START = '<!-- error-table:start -->';
const END = '<!-- error-table:end -->';

export function renderErrorTable(): string {
  const rows = Object.entries(ERROR_CODES).map(
    ([code, definition]) => `| \`${code}\` | ${definition.httpStatus} | \`${definition.trpc}\` (${TRPC_ERROR_CODES_BY_KEY[definition.trpc]}) | ${definition.meaning} |`,
  );
  return ['| code | HTTP status | tRPC code (`error.code`) | meaning |', '|---|---|---|---|', ...rows].join('\n');
}

export async function renderErrorCatalog(file = new URL('../docs/errors.md', import.meta.url)): Promise<{ current: string; rendered: string }> {
  const current = await readFile(file, 'utf8');
  const start = current.indexOf(START);
  const end = current.indexOf(END);
  if (start < 0 || end < start) throw new Error(`docs/errors.md needs the markers ${START} and ${END}`);
  const rendered = `${current.slice(0, start + START.length)}\n${renderErrorTable()}\n${current.slice(end)}`;
  return { current, rendered };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = new URL('../docs/errors.md', import.meta.url);
  const { rendered } = await renderErrorCatalog(file);
  await writeFile(file, rendered);
  process.stdout.write('docs/errors.md: error table rewritten\n');
}
