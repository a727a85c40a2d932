import { useId, useState, type FormEvent } from "react";
import { errorMessage } from "../api/errors";
import { useAuth } from "./AuthProvider";

/** Sign-in / create-account form, used by the sign-in page and the "sign in again" dialog. */
export function SignInForm(props: { onDone: () => void; allowSignup?: boolean; initialEmail?: string }) {
  const { config, signIn, signUp } = useAuth();
  const canSignup = (props.allowSignup ?? true) && config.signup_enabled;
  const [mode, setMode] = useState<"signin" | "signup">("signin");
  const [email, setEmail] = useState(props.initialEmail ?? "");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [info, setInfo] = useState<string | null>(null);
  const id = useId();

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setInfo(null);
    try {
      if (mode === "signin") {
        await signIn(email.trim(), password);
        props.onDone();
      } else {
        const r = await signUp(email.trim(), password);
        if (r.needsConfirmation) {
          setInfo("Check your email to confirm the account, then sign in.");
          setMode("signin");
        } else props.onDone();
      }
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="signin-form" onSubmit={submit} aria-label={mode === "signin" ? "Sign in" : "Create account"}>
      {canSignup && (
        <div className="segmented" role="group" aria-label="Account">
          <button type="button" aria-pressed={mode === "signin"} onClick={() => setMode("signin")}>
            I have an account
          </button>
          <button type="button" aria-pressed={mode === "signup"} onClick={() => setMode("signup")}>
            I'm new here
          </button>
        </div>
      )}
      <label htmlFor={`${id}-email`}>Email</label>
      <input
        id={`${id}-email`}
        type="email"
        autoComplete="email"
        required
        value={email}
        onChange={(e) => setEmail(e.target.value)}
      />
      <label htmlFor={`${id}-password`}>Password</label>
      <input
        id={`${id}-password`}
        type="password"
        autoComplete={mode === "signin" ? "current-password" : "new-password"}
        required
        minLength={mode === "signup" ? 8 : undefined}
        value={password}
        onChange={(e) => setPassword(e.target.value)}
      />
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {info && <p className="notice" role="status">{info}</p>}
      <button type="submit" className="primary" disabled={busy}>
        {mode === "signin" ? "Sign in" : "Create account"}
      </button>
      {config.auth_mode === "supabase" && <p className="hint">Signing in with Supabase Auth.</p>}
    </form>
  );
}
