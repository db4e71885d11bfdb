import { Link } from 'react-router';
import { EmptyState } from '../ui/components.tsx';

export function NotFoundPage() {
  return <EmptyState title="Page not found" description="The address does not match a page of the portal." action={<Link to="/">Go to the dashboard</Link>} />;
}
