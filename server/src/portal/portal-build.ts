import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../logging/logger.ts';

export const PORTAL_ROOT = fileURLToPath(new URL('../../../partner-portal/', import.meta.url));
export const PORTAL_DIST = fileURLToPath(new URL('../../../partner-portal/dist/', import.meta.url));

function newestSourceTime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'dist' || entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
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
  logger.info('building the portal (partner-portal/ → partner-portal/dist)');
  await vite.build({ configFile: `${PORTAL_ROOT}vite.config.ts`, logLevel: 'warn' });
  return true;
}
