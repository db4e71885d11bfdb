import type { Selectable } from 'kysely';
import type { CoalitionDb, TenantDb } from '../db/database.ts';
import type { AuditEventsTable } from '../db/tables.ts';
import { noteAuditRecorded } from './audit-scope.ts';

export interface AuditEventInput {
  actor: string;
  action: string;
  subjectType: string;
  subjectId: string;
  details?: Record<string, unknown>;
}

function auditRow(event: AuditEventInput) {
  return { actor: event.actor, action: event.action, subject_type: event.subjectType, subject_id: event.subjectId, details: JSON.stringify(event.details ?? {}) };
}

export async function insertAuditEvent(db: TenantDb, event: AuditEventInput): Promise<void> {
  noteAuditRecorded('tenant');
  await db.insertInto('audit_events').values(auditRow(event)).execute();
}

export async function listAuditEventsPage(
  db: TenantDb,
  options: { limit: number; beforeId?: string | undefined },
): Promise<Selectable<AuditEventsTable>[]> {
  let query = db.selectFrom('audit_events').selectAll().orderBy('id', 'desc').limit(options.limit);
  if (options.beforeId) query = query.where('id', '<', options.beforeId);
  return query.execute();
}

/** The operators' trail, in the coalition schema. */
export async function insertOperatorAuditEvent(db: CoalitionDb, event: AuditEventInput): Promise<void> {
  noteAuditRecorded('operator');
  await db.insertInto('operator_audit_events').values(auditRow(event)).execute();
}

export async function listOperatorAuditEventsPage(db: CoalitionDb, options: { limit: number; beforeId?: string | undefined }): Promise<Selectable<AuditEventsTable>[]> {
  let query = db.selectFrom('operator_audit_events').selectAll().orderBy('id', 'desc').limit(options.limit);
  if (options.beforeId) query = query.where('id', '<', options.beforeId);
  return query.execute();
}
