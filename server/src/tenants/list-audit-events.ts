import type { TenantDb } from '../db/database.ts';
import { listAuditEventsPage } from './audit.queries.ts';

export interface AuditEvent {
  id: string;
  occurredAt: string;
  actor: string;
  action: string;
  subjectType: string;
  subjectId: string;
  details: Record<string, unknown>;
}

/** Newest first, keyset-paginated by id. */
export async function listAuditEvents(
  db: TenantDb,
  options: { limit: number; cursor?: string | undefined },
): Promise<{ events: AuditEvent[]; nextCursor: string | null }> {
  const rows = await listAuditEventsPage(db, { limit: options.limit + 1, beforeId: options.cursor });
  const page = rows.slice(0, options.limit);
  return {
    events: page.map((row) => ({
      id: row.id,
      occurredAt: row.occurred_at.toISOString(),
      actor: row.actor,
      action: row.action,
      subjectType: row.subject_type,
      subjectId: row.subject_id,
      details: row.details,
    })),
    nextCursor: rows.length > options.limit ? (page.at(-1)?.id ?? null) : null,
  };
}
