// The one place that talks HTTP to foil-server: same origin, JWT from the auth store, JSON in
// and out, errors as ApiError, any 401 for our token reported so the app can ask to sign in
// again (without leaving the page, so nothing unsaved is lost).
import { getAuth, notifyUnauthorized } from "./auth-store";
import { errorFromResponse } from "./errors";

/** The model choice for LLM-backed calls. The key lives in memory only. */
export interface LlmChoice {
  model: string;
  apiKey: string;
}

export type Query = Record<string, string | number | boolean | null | undefined>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  llm?: LlmChoice | null;
  /** Send the JWT (default true). */
  auth?: boolean;
  signal?: AbortSignal;
}

export function buildUrl(path: string, query?: Query): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v !== undefined && v !== null && v !== "") params.set(k, String(v));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

export function llmHeaders(llm: LlmChoice | null | undefined): Record<string, string> {
  const h: Record<string, string> = {};
  if (llm?.model) h["X-LLM-Model"] = llm.model;
  if (llm?.apiKey) h["X-LLM-API-Key"] = llm.apiKey;
  return h;
}

/** Sends a request and returns the raw Response if it is a 2xx; throws ApiError otherwise. */
export async function send(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { Accept: "application/json", ...llmHeaders(opts.llm) };
  const auth = opts.auth === false ? null : getAuth();
  if (auth) headers.Authorization = `Bearer ${auth.token}`;
  let body: string | undefined;
  if (opts.body !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(opts.body);
  }
  const res = await fetch(buildUrl(path, opts.query), { method, headers, body, signal: opts.signal });
  if (!res.ok) {
    const err = await errorFromResponse(res);
    if (auth && err.isAuthFailure) notifyUnauthorized();
    throw err;
  }
  return res;
}

/** Sends a request and parses the JSON answer (undefined for 204). */
export async function request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
  const res = await send(method, path, opts);
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}
