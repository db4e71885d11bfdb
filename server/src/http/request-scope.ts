import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The request id, reachable from code that runs before a tRPC context exists (the
 * adapter's own errors: unsupported media type, unparsable input).
 */
const storage = new AsyncLocalStorage<{ requestId: string }>();

export function runInRequestScope<T>(requestId: string, work: () => T): T {
  return storage.run({ requestId }, work);
}

export function currentRequestId(): string | undefined {
  return storage.getStore()?.requestId;
}
