import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { decodeSecretKey } from '../secrets/secrets.ts';

/**
 * For `coalition start` without SECRET_KEY: a key generated on first start and kept
 * beside the embedded data (mode 0600). Losing it makes stored phone hashes useless,
 * so it lives as long as the data folder does.
 */
export async function loadOrCreateSecretKey(dataDir: string): Promise<Buffer> {
  const file = path.join(dataDir, 'secret.key');
  try {
    const key = decodeSecretKey(await readFile(file, 'utf8'));
    if (key) return key;
    throw new Error(`${file} does not hold a valid key (base64 or hex of at least 32 bytes)`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(dataDir, { recursive: true });
  const key = randomBytes(32);
  await writeFile(file, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  return key;
}
