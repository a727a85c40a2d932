import { Suspense } from "react";
import { Link, NavLink, Navigate, Outlet, useLocation, useNavigate } from "react-router";
import { useAuth } from "../auth/AuthProvider";
import { SignInForm } from "../auth/SignInForm";
import { Dialog } from "./Dialog";

/** The signed-in shell: top navigation, the page, and the "sign in again" dialog. */
export function Layout() {
  const { auth, signOut, reauthRequired, dismissReauth } = useAuth();
  const location = useLocation();
  const navigate = useNavigate();
  if (!auth) {
    const next = location.pathname + location.search;
    return <Navigate to={`/signin?next=${encodeURIComponent(next)}`} replace />;
  }
  return (
    <div className="app">
      <a href="#main" className="skip-link">
        Skip to content
      </a>
      <header className="topbar">
        <Link to="/" className="brand" aria-label="Foil Studio home">
          <span className="brand-mark" aria-hidden="true">
            ◆
          </span>
          Foil Studio
        </Link>
        <nav aria-label="Main">
          <NavLink to="/" end>
            Personas
          </NavLink>
          <NavLink to="/api-keys">API keys</NavLink>
          <NavLink to="/usage">Usage</NavLink>
          <a href="/docs">API reference</a>
        </nav>
        <div className="topbar-user">
          <span className="user-email" title="Signed in as">
            {auth.email}
          </span>
          <button
            type="button"
            className="ghost"
            onClick={async () => {
              await signOut();
              navigate("/signin");
            }}
          >
            Sign out
          </button>
        </div>
      </header>
      <main id="main" className="main">
        <Suspense fallback={<p role="status" className="loading">Loading…</p>}>
          <Outlet />
        </Suspense>
      </main>
      {reauthRequired && (
        <Dialog title="Sign in again" onClose={dismissReauth} noClose>
          <p>Your session has expired. Sign in again to continue — your unsaved edits are kept.</p>
          <SignInForm onDone={dismissReauth} allowSignup={false} initialEmail={auth.email} />
        </Dialog>
      )}
    </div>
  );
}
