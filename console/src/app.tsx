/**
 * The console's shell: the sign-in gate, the header and the one switch over routes. A
 * refused credential anywhere (401) returns here, to sign-in, with the reason shown.
 */
import { useEffect, useState } from 'preact/hooks';
import { onSessionExpired } from './api/client.js';
import { clearCredential, loadCredential, type Credential } from './api/session.js';
import { readToken } from './api/token-claims.js';
import { Link } from './components/link.js';
import { navigate, useRoute } from './router.js';
import { SignIn } from './pages/sign-in.js';
import { WorkspaceList } from './pages/workspaces.js';
import { CreateWorkspace } from './pages/create.js';
import { WorkspacePage } from './pages/workspace.js';

export function App() {
  const route = useRoute();
  const [credential, setCredential] = useState<Credential | null>(() => loadCredential());
  const [notice, setNotice] = useState<string | null>(null);

  useEffect(() => onSessionExpired((message) => {
    setCredential(null);
    setNotice(message);
    navigate('/console/sign-in', { replace: true });
  }), []);

  if (!credential || route.name === 'sign-in') {
    return (
      <SignIn
        notice={notice}
        signedIn={credential !== null}
        onSignedIn={(c) => {
          setCredential(c);
          setNotice(null);
          const view = c.kind === 'token' ? readToken(c.token) : null;
          const target = view?.scope === 'workspace' && view.workspaceId ? `/console/w/${encodeURIComponent(view.workspaceId)}` : '/console/';
          navigate(route.name === 'sign-in' || route.name === 'list' ? target : location.pathname, { replace: true });
        }}
      />
    );
  }

  const signOut = () => {
    clearCredential();
    setCredential(null);
    setNotice('Signed out.');
    navigate('/console/sign-in', { replace: true });
  };

  return (
    <div class="shell">
      <header class="top">
        <Link to="/console/" class="brand">Warren</Link>
        <nav aria-label="Main">
          <Link to="/console/" aria-current={route.name === 'list' ? 'page' : undefined}>Workspaces</Link>
          <Link to="/console/new" aria-current={route.name === 'create' ? 'page' : undefined}>New workspace</Link>
        </nav>
        <span class="who" title="Signed in with">{who(credential)}</span>
        <button type="button" class="secondary" onClick={signOut}>Sign out</button>
      </header>
      <main id="main">
        {route.name === 'list' && <WorkspaceList />}
        {route.name === 'create' && <CreateWorkspace />}
        {route.name === 'workspace' && <WorkspacePage id={route.id} tab={route.tab} />}
        {route.name === 'not-found' && <p class="empty">Nothing here. <Link to="/console/">Back to the workspaces</Link></p>}
      </main>
    </div>
  );
}

function who(c: Credential): string {
  if (c.kind === 'key') return c.clientId;
  const view = readToken(c.token);
  if (view.scope === 'workspace') return `token · ${view.workspaceId}`;
  if (view.scope === 'namespace') return 'namespace token';
  return 'token';
}
