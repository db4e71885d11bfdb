import { EmptyState, PageHeader } from '../../ui/components.tsx';

export function RedemptionsPage() {
  return (
    <>
      <PageHeader title="Redemptions" />
      <EmptyState title="Coming soon" />
    </>
  );
}
