import { EmptyState, PageHeader } from '../../ui/components.tsx';

export function CampaignsPage() {
  return (
    <>
      <PageHeader title="Campaigns" />
      <EmptyState title="Coming soon" />
    </>
  );
}
