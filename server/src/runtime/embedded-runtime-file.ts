import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * While `coalition start` runs on the embedded PostgreSQL, it notes the database URL
 * here (mode 0600) so one-off CLI commands (`coalition tenant create` …) reach the
 * same server instead of trying to start a second one on the same data folder.
 */
function runtimeFile(dataDir: string): string {
  return path.join(dataDir, 'embedded-runtime.json');
}

export async function recordEmbeddedRuntime(dataDir: string, databaseUrl: string): Promise<void> {
  await writeFile(runtimeFile(dataDir), JSON.stringify({ pid: process.pid, databaseUrl }), { mode: 0o600 });
}

export async function clearEmbeddedRuntime(dataDir: string): Promise<void> {
  await rm(runtimeFile(dataDir), { force: true });
}

export async function runningEmbeddedDatabaseUrl(dataDir: string): Promise<string | undefined> {
  try {
    const { pid, databaseUrl } = JSON.parse(await readFile(runtimeFile(dataDir), 'utf8')) as { pid: number; databaseUrl: string };
    process.kill(pid, 0);
    return databaseUrl;
  } catch {
    return undefined;
  }
}
