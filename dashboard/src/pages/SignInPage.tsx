import { useEffect } from "react";
import { Navigate, useNavigate, useSearchParams } from "react-router";
import { useAuth } from "../auth/AuthProvider";
import { SignInForm } from "../auth/SignInForm";

function safeNext(next: string | null): string {
  return next && next.startsWith("/") && !next.startsWith("//") ? next : "/";
}

export function SignInPage() {
  const { auth, reauthRequired } = useAuth();
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const next = safeNext(params.get("next"));
  useEffect(() => {
    document.title = "Sign in · Foil Studio";
  }, []);
  if (auth && !reauthRequired) return <Navigate to={next} replace />;
  return (
    <main className="signin-page" id="main">
      <section className="signin-card" aria-labelledby="signin-title">
        <div className="brand big">
          <span className="brand-mark" aria-hidden="true">
            ◆
          </span>
          Foil Studio
        </div>
        <h1 id="signin-title">Author, playtest and ship your NPCs</h1>
        <SignInForm onDone={() => navigate(next, { replace: true })} />
      </section>
    </main>
  );
}
