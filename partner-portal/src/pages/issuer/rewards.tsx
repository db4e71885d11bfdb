import { EmptyState, PageHeader } from '../../ui/components.tsx';

export function RewardsPage() {
  return (
    <>
      <PageHeader title="Reward catalog" />
      <EmptyState title="Coming soon" />
    </>
  );
}
