import { EmptyState, PageHeader } from '../../ui/components.tsx';

export function SettlementPage() {
  return (
    <>
      <PageHeader title="Settlement" />
      <EmptyState title="Coming soon" />
    </>
  );
}
