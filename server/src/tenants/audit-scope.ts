import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Whether the use-case a portal user's change ran already wrote its own audit entry.
 * Use-cases audit what they change in their own terms (offer.created, …); for the
 * rest, the tRPC layer records the procedure and the ids it was called with, so every
 * change made in the portal has a who, what and when.
 */
type Trail = 'tenant' | 'operator';
const storage = new AsyncLocalStorage<Set<Trail>>();

/** Runs a change and says which audit trails it wrote to. */
export async function runAudited<T>(work: () => Promise<T>): Promise<{ result: T; recorded: Set<Trail> }> {
  const recorded = new Set<Trail>();
  const result = await storage.run(recorded, work);
  return { result, recorded };
}

export function noteAuditRecorded(trail: Trail): void {
  storage.getStore()?.add(trail);
}
