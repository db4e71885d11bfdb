import { EmptyState, PageHeader } from '../../ui/components.tsx';

export function StatementPage() {
  return (
    <>
      <PageHeader title="Statement" />
      <EmptyState title="Coming soon" />
    </>
  );
}
