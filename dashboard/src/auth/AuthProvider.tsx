// Who is signed in, how (built-in identity or Supabase Auth), and the "sign in again" dialog
// shown over the current page when a token expires (so unsaved work stays on screen).
import { createContext, useCallback, useContext, useEffect, useMemo, useState, useSyncExternalStore, type ReactNode } from "react";
import { api } from "../api";
import { getAuth, onUnauthorized, setAuth, subscribeAuth, tokenExpired, type StoredAuth } from "../api/auth-store";
import type { DashboardConfig } from "../api/types";
import { ApiError } from "../api/errors";

type GoTrue = import("@supabase/auth-js").GoTrueClient;

interface AuthApi {
  config: DashboardConfig;
  auth: StoredAuth | null;
  signIn: (email: string, password: string) => Promise<void>;
  signUp: (email: string, password: string) => Promise<{ needsConfirmation: boolean }>;
  signOut: () => Promise<void>;
  /** True while the "sign in again" dialog is needed. */
  reauthRequired: boolean;
  dismissReauth: () => void;
}

const DEFAULT_CONFIG: DashboardConfig = {
  auth_mode: "builtin",
  signup_enabled: true,
  supabase_url: null,
  supabase_anon_key: null,
  default_model: "offline",
};

const Ctx = createContext<AuthApi | null>(null);

export function useAuth(): AuthApi {
  const v = useContext(Ctx);
  if (!v) throw new Error("useAuth outside AuthProvider");
  return v;
}

let goTrue: Promise<GoTrue> | null = null;
function supabaseClient(config: DashboardConfig): Promise<GoTrue> {
  if (!goTrue) {
    goTrue = import("@supabase/auth-js").then(({ GoTrueClient }) => {
      const client = new GoTrueClient({
        url: `${(config.supabase_url ?? "").replace(/\/+$/, "")}/auth/v1`,
        headers: { apikey: config.supabase_anon_key ?? "", Authorization: `Bearer ${config.supabase_anon_key ?? ""}` },
        storageKey: "foil.supabase",
        persistSession: true,
        autoRefreshToken: true,
        detectSessionInUrl: false,
      });
      client.onAuthStateChange((event, session) => {
        if (session && (event === "TOKEN_REFRESHED" || event === "SIGNED_IN")) {
          setAuth({
            token: session.access_token,
            email: session.user.email ?? "",
            expiresAt: session.expires_at ? session.expires_at * 1000 : null,
          });
        }
      });
      return client;
    });
  }
  return goTrue;
}

export function AuthProvider(props: { children: ReactNode }) {
  const [config, setConfig] = useState<DashboardConfig | null>(null);
  const auth = useSyncExternalStore(subscribeAuth, getAuth);
  const [reauthRequired, setReauthRequired] = useState(false);

  useEffect(() => {
    let live = true;
    api
      .config()
      .then((c) => live && setConfig(c))
      .catch(() => live && setConfig(DEFAULT_CONFIG));
    return () => {
      live = false;
    };
  }, []);

  // An expired token (by its own expiry) means signing in again; a 401 from any call does too.
  useEffect(() => onUnauthorized(() => setReauthRequired(true)), []);
  useEffect(() => {
    const a = getAuth();
    if (a && tokenExpired(a)) setReauthRequired(true);
    else if (a) api.me().catch(() => undefined); // a 401 here raises the dialog
  }, []);

  // Supabase refreshes its own session: start the client when a Supabase session exists.
  useEffect(() => {
    if (config?.auth_mode === "supabase" && getAuth()) void supabaseClient(config);
  }, [config]);

  const signIn = useCallback(
    async (email: string, password: string) => {
      if (!config) throw new Error("Still loading");
      if (config.auth_mode === "supabase") {
        const client = await supabaseClient(config);
        const { data, error } = await client.signInWithPassword({ email, password });
        if (error || !data.session) throw new ApiError(401, "supabase", error?.message ?? "Sign-in failed");
        setAuth({
          token: data.session.access_token,
          email: data.session.user.email ?? email,
          expiresAt: data.session.expires_at ? data.session.expires_at * 1000 : null,
        });
      } else {
        const r = await api.login(email, password);
        setAuth({ token: r.access_token, email: r.user.email ?? email, expiresAt: Date.now() + r.expires_in * 1000 });
      }
      setReauthRequired(false);
    },
    [config],
  );

  const signUp = useCallback(
    async (email: string, password: string) => {
      if (!config) throw new Error("Still loading");
      if (config.auth_mode === "supabase") {
        const client = await supabaseClient(config);
        const { data, error } = await client.signUp({ email, password });
        if (error) throw new ApiError(400, "supabase", error.message);
        if (!data.session) return { needsConfirmation: true };
        setAuth({
          token: data.session.access_token,
          email: data.session.user.email ?? email,
          expiresAt: data.session.expires_at ? data.session.expires_at * 1000 : null,
        });
      } else {
        const r = await api.signup(email, password);
        setAuth({ token: r.access_token, email: r.user.email ?? email, expiresAt: Date.now() + r.expires_in * 1000 });
      }
      setReauthRequired(false);
      return { needsConfirmation: false };
    },
    [config],
  );

  const signOut = useCallback(async () => {
    if (config?.auth_mode === "supabase") {
      try {
        const client = await supabaseClient(config);
        await client.signOut({ scope: "local" });
      } catch {
        /* signing out locally cannot fail in a way that matters */
      }
    }
    setAuth(null);
    setReauthRequired(false);
  }, [config]);

  const value = useMemo<AuthApi | null>(
    () =>
      config
        ? {
            config,
            auth,
            signIn,
            signUp,
            signOut,
            reauthRequired,
            dismissReauth: () => setReauthRequired(false),
          }
        : null,
    [config, auth, signIn, signUp, signOut, reauthRequired],
  );

  if (!value) return <div className="boot" role="status">Loading Foil Studio…</div>;
  return <Ctx.Provider value={value}>{props.children}</Ctx.Provider>;
}
