import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Whether the use-case a portal user's change ran already wrote its own audit entry.
 * Use-cases audit what they change in their own terms (offer.created, …); for the
 * rest, the tRPC layer records the procedure and the ids it was called with, so every
 * change made in the portal has a who, what and when.
 */
const storage = new AsyncLocalStorage<{ recorded: boolean }>();

export async function runAudited<T>(work: () => Promise<T>): Promise<{ result: T; recorded: boolean }> {
  const scope = { recorded: false };
  const result = await storage.run(scope, work);
  return { result, recorded: scope.recorded };
}

export function noteAuditRecorded(): void {
  const scope = storage.getStore();
  if (scope) scope.recorded = true;
}
