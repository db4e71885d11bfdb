import type { Selectable } from 'kysely';
import type { CoalitionDb, TenantDb } from '../db/database.ts';
import type { AuditEventsTable } from '../db/tables.ts';
import { listAuditEventsPage, listOperatorAuditEventsPage } from './audit.queries.ts';

export interface AuditEvent {
  id: string;
  occurredAt: string;
  actor: string;
  action: string;
  subjectType: string;
  subjectId: string;
  details: Record<string, unknown>;
}

type Page = { limit: number; cursor?: string | undefined };

/** A tenant's trail, newest first, keyset-paginated by id. */
export function listAuditEvents(db: TenantDb, options: Page): Promise<{ events: AuditEvent[]; nextCursor: string | null }> {
  return paged(options, (beforeId) => listAuditEventsPage(db, { limit: options.limit + 1, beforeId }));
}

/** The coalition operators' trail, the same way. */
export function listOperatorAuditEvents(db: CoalitionDb, options: Page): Promise<{ events: AuditEvent[]; nextCursor: string | null }> {
  return paged(options, (beforeId) => listOperatorAuditEventsPage(db, { limit: options.limit + 1, beforeId }));
}

async function paged(options: Page, read: (beforeId: string | undefined) => Promise<Selectable<AuditEventsTable>[]>): Promise<{ events: AuditEvent[]; nextCursor: string | null }> {
  const rows = await read(options.cursor);
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
