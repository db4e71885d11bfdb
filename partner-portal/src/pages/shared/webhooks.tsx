import { EmptyState, PageHeader } from '../../ui/components.tsx';

export function WebhooksPage() {
  return (
    <>
      <PageHeader title="Webhooks" />
      <EmptyState title="Coming soon" />
    </>
  );
}
