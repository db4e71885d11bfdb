import { useState, type ReactNode } from 'react';
import { NavLink, useLocation } from 'react-router';
import { NAV, navItemFor, type NavItem } from './nav.ts';
import { allows, useSession, useSessionState } from './session.tsx';
import { Button, EmptyState } from './ui/components.tsx';
import { humanize } from './ui/format.ts';

const GROUPS: NavItem['group'][] = ['Overview', 'Partner', 'Issuer', 'Coalition', 'Finance', 'Settings', 'Operator'];

/** Sidebar (a top bar with a menu button below tablet width), header with the user, the page. */
export function Layout({ children }: { children: ReactNode }) {
  const session = useSession();
  const { signOut } = useSessionState();
  const location = useLocation();
  const [menuOpen, setMenuOpen] = useState(false);
  const visible = NAV.filter((item) => allows(session, item.access));
  const current = navItemFor(location.pathname);
  const permitted = !current || allows(session, current.access);

  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <aside className={`sidebar ${menuOpen ? 'sidebar-open' : ''}`}>
        <div className="brand">
          <span className="brand-mark" aria-hidden="true">
            CX
          </span>
          <span>
            Coalition Exchange
            <span className="brand-tenant">{session.operator ? 'Coalition operator' : session.tenant?.displayName}</span>
          </span>
        </div>
        <button type="button" className="menu-toggle" aria-expanded={menuOpen} aria-controls="main-nav" onClick={() => setMenuOpen(!menuOpen)}>
          Menu
        </button>
        <nav id="main-nav" aria-label="Main">
          {GROUPS.map((group) => {
            const items = visible.filter((item) => item.group === group);
            if (items.length === 0) return null;
            return (
              <div key={group} className="nav-group">
                {group !== 'Overview' && <div className="nav-group-label">{group}</div>}
                {items.map((item) => (
                  <NavLink key={item.path} to={item.path} end={item.path === '/'} className={({ isActive }) => `nav-link ${isActive ? 'nav-link-active' : ''}`} onClick={() => setMenuOpen(false)}>
                    {item.label}
                  </NavLink>
                ))}
              </div>
            );
          })}
        </nav>
        <div className="sidebar-user">
          <div className="user-name">{session.user.displayName}</div>
          <div className="user-meta">
            {session.user.email}
            <br />
            {session.user.roles.map(humanize).join(', ')}
          </div>
          <Button size="sm" variant="ghost" onClick={() => void signOut()}>
            Sign out
          </Button>
        </div>
      </aside>
      <main id="main" className="main" tabIndex={-1}>
        {session.tenant?.status === 'suspended' && (
          <div className="alert alert-warn" role="status">
            <div>
              <strong>Your tenant is suspended.</strong> The coalition operator has suspended {session.tenant.slug}; changes are refused until it is reactivated.
            </div>
          </div>
        )}
        {permitted ? children : <NotAllowed />}
      </main>
    </div>
  );
}

export function NotAllowed() {
  const session = useSession();
  return (
    <EmptyState
      title="This page is not available for your role"
      description={`You are signed in as ${session.user.roles.map(humanize).join(', ')}. Ask a tenant admin if you need access.`}
    />
  );
}
