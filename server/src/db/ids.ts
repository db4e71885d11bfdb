import { customAlphabet } from 'nanoid';

const ALPHANUMERIC = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Ids such as `cmp_3fK9…`: a type prefix and 12 random letters and digits (71 bits). */
export function prefixedIds(prefix: string): () => string {
  const random = customAlphabet(ALPHANUMERIC, 12);
  return () => `${prefix}_${random()}`;
}
