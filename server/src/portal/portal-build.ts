import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../logging/logger.ts';

export const PORTAL_ROOT = fileURLToPath(new URL('../../../partner-portal/', import.meta.url));
export const PORTAL_DIST = fileURLToPath(new URL('../../../partner-portal/dist/', import.meta.url));

function newestSourceTime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'dist' || entry.name === 'node_modules' || entry.name.startsWith('.') || entry.name === 'README.md') continue;
    const full = `${dir}/${entry.name}`;
    newest = Math.max(newest, entry.isDirectory() ? newestSourceTime(full) : statSync(full).mtimeMs);
  }
  return newest;
}

/** Whether partner-portal/dist holds a build at least as new as every source file. */
export function portalBuildIsCurrent(): boolean {
  const index = `${PORTAL_DIST}index.html`;
  return existsSync(index) && statSync(index).mtimeMs >= newestSourceTime(PORTAL_ROOT);
}

/**
 * Builds the portal with Vite when its build is missing or older than its sources
 * (`npm start` on a fresh clone). Vite is a development dependency: an install
 * without them (`npm ci --omit=dev`) must ship a build made by `npm run build`.
 */
export async function ensurePortalBuilt(logger: Logger): Promise<boolean> {
  if (portalBuildIsCurrent()) return true;
  let vite: typeof import('vite');
  try {
    vite = await import('vite');
  } catch {
    logger.warn('the portal is not built and Vite is not installed: run "npm run build" where dev dependencies are installed');
    return existsSync(`${PORTAL_DIST}index.html`);
  }
  // One build at a time (parallel test files, two starts): the others wait for it.
  const lock = `${PORTAL_ROOT}.build-lock`;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now()) > 120_000) rmSync(lock, { recursive: true, force: true });
      await sleep(200);
      if (portalBuildIsCurrent()) return true;
    }
  }
  try {
    if (portalBuildIsCurrent()) return true;
    logger.info('building the portal (partner-portal/ → partner-portal/dist)');
    // Built beside dist and swapped in, so a running server never serves half a build.
    const staging = `${PORTAL_ROOT}.dist-${process.pid}`;
    await vite.build({ configFile: `${PORTAL_ROOT}vite.config.ts`, logLevel: 'warn', build: { outDir: staging, emptyOutDir: true } });
    const old = `${PORTAL_ROOT}.dist-old-${process.pid}`;
    if (existsSync(PORTAL_DIST)) renameSync(PORTAL_DIST, old);
    renameSync(staging, PORTAL_DIST);
    rmSync(old, { recursive: true, force: true });
    return true;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}
