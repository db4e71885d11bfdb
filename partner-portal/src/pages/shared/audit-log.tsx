import { EmptyState, PageHeader } from '../../ui/components.tsx';

export function AuditLogPage() {
  return (
    <>
      <PageHeader title="Audit log" />
      <EmptyState title="Coming soon" />
    </>
  );
}
