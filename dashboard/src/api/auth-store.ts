// The signed-in user's token, kept in localStorage so a reload stays signed in. (The BYOK LLM
// key is *never* stored: it lives in React state only.)

export interface StoredAuth {
  token: string;
  email: string;
  /** Milliseconds since the epoch, or null if unknown. */
  expiresAt: number | null;
}

const KEY = "foil.auth";
type Listener = () => void;
const listeners = new Set<Listener>();
const unauthorizedListeners = new Set<Listener>();

let current: StoredAuth | null = load();

function load(): StoredAuth | null {
  try {
    const raw = localStorage.getItem(KEY);
    if (!raw) return null;
    const v = JSON.parse(raw) as StoredAuth;
    return typeof v.token === "string" && v.token ? v : null;
  } catch {
    return null;
  }
}

export function getAuth(): StoredAuth | null {
  return current;
}

export function setAuth(next: StoredAuth | null): void {
  current = next;
  try {
    if (next) localStorage.setItem(KEY, JSON.stringify(next));
    else localStorage.removeItem(KEY);
  } catch {
    /* storage unavailable: keep it in memory */
  }
  listeners.forEach((l) => l());
}

export function subscribeAuth(l: Listener): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

/** Called by the API client on any 401 for our token. */
export function notifyUnauthorized(): void {
  unauthorizedListeners.forEach((l) => l());
}

export function onUnauthorized(l: Listener): () => void {
  unauthorizedListeners.add(l);
  return () => unauthorizedListeners.delete(l);
}

/** True if the stored token's expiry (when known) has passed. */
export function tokenExpired(a: StoredAuth | null, now = Date.now()): boolean {
  return !a || (a.expiresAt !== null && a.expiresAt <= now);
}
