import { sql, type Kysely } from 'kysely';
import type { MigrationContext } from '../../server/src/db/migrate.ts';

// Wakes the webhook relay at commit when this tenant's outbox gains rows (one
// notification per transaction and schema; PostgreSQL folds duplicates). The relay
// also polls, so a notification missed while it was away loses nothing.
// Runs with db.withSchema(<tenant schema>).
export async function up(db: Kysely<any>, { schema }: MigrationContext): Promise<void> {
  await sql`create trigger outbox_events_notify after insert on ${sql.id(schema, 'outbox_events')} for each statement execute function coalition.notify_outbox()`.execute(db);
}
