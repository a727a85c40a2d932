// Typed calls for every route the dashboard uses: openapi-fetch over the generated `paths`,
// so a route, parameter or body that drifts from the server's OpenAPI document fails `tsc`.
import createClient, { type Middleware } from "openapi-fetch";
import { getAuth, notifyUnauthorized } from "./auth-store";
import { llmHeaders, send, type LlmChoice } from "./client";
import { errorFromResponse, parseApiError } from "./errors";
import type { paths } from "./schema";
import { readSse } from "./sse";
import { normalizeDocument } from "../lib/document";
import type { ChatMetadata, ChatResponse, KeyScope, Machine, PersonaDocument, UsageGroup } from "./types";

const client = createClient<paths>({ baseUrl: "" });

/** Marks requests that must go without the JWT (sign-in, public config). */
const NO_AUTH = "X-Foil-No-Auth";

const authMiddleware: Middleware = {
  onRequest({ request }) {
    if (request.headers.has(NO_AUTH)) {
      request.headers.delete(NO_AUTH);
      return request;
    }
    const a = getAuth();
    if (a) request.headers.set("Authorization", `Bearer ${a.token}`);
    return request;
  },
};
client.use(authMiddleware);

interface Result<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** The data of a 2xx answer, or throws ApiError (reporting a 401 for our token). */
async function unwrap<T>(p: Promise<Result<T>>): Promise<T> {
  let r: Result<T>;
  try {
    r = await p;
  } catch (e) {
    if (e instanceof DOMException && e.name === "AbortError") throw e;
    throw parseApiError(0, null);
  }
  if (r.response.ok) return r.data as T;
  const err = parseApiError(r.response.status, r.error ?? null, r.response.headers.get("Retry-After"));
  if (err.isAuthFailure && getAuth()) {
    notifyUnauthorized();
  }
  throw err;
}

const noAuth = { [NO_AUTH]: "1" };

export interface SessionFilters {
  limit: number;
  offset: number;
  machine_id?: string;
  outcome?: string;
  channel?: string;
}

/** Documents are sent as they are; the editor's types are the generated ones, narrowed. */
const docBody = (d: PersonaDocument) => d as paths["/api/v1/creator/save"]["post"]["requestBody"]["content"]["application/json"];
const asDoc = (d: unknown) => normalizeDocument(d as PersonaDocument);

export const api = {
  config: () => unwrap(client.GET("/api/v1/dashboard/config", { headers: noAuth })),
  signup: (email: string, password: string) =>
    unwrap(client.POST("/api/v1/auth/signup", { headers: noAuth, body: { email, password } })),
  login: (email: string, password: string) =>
    unwrap(client.POST("/api/v1/auth/login", { headers: noAuth, body: { email, password } })),
  me: () => unwrap(client.GET("/api/v1/auth/me")),

  myPersonas: (limit = 100, offset = 0) =>
    unwrap(client.GET("/api/v1/personas", { params: { query: { my_personas: true, limit, offset } } })),
  full: async (id: string) =>
    asDoc(await unwrap(client.GET("/api/v1/personas/{id}/full", { params: { path: { id } } }))),
  save: (doc: PersonaDocument, personaId?: string | null) =>
    unwrap(
      client.POST("/api/v1/creator/save", {
        params: { query: personaId ? { persona_id: personaId } : {} },
        body: docBody(doc),
      }),
    ),
  validate: (doc: PersonaDocument, signal?: AbortSignal) =>
    unwrap(client.POST("/api/v1/creator/validate", { body: docBody(doc) as never, signal })),
  publish: (id: string) => unwrap(client.POST("/api/v1/personas/{id}/publish", { params: { path: { id } } })),
  unpublish: (id: string) => unwrap(client.POST("/api/v1/personas/{id}/unpublish", { params: { path: { id } } })),
  remove: (id: string) => unwrap(client.DELETE("/api/v1/personas/{id}", { params: { path: { id } } })),

  generatePersona: (brief: string, llm: LlmChoice | null) =>
    unwrap(client.POST("/api/v1/creator/generate/persona", { body: { brief }, headers: llmHeaders(llm) })),
  generateMachine: async (body: { persona_id?: string; identity?: string; brief: string }, llm: LlmChoice | null) =>
    (await unwrap(
      client.POST("/api/v1/creator/generate/machine", { body, headers: llmHeaders(llm) }),
    )) as unknown as Machine,
  polish: (text: string, field: string, context: string | undefined, llm: LlmChoice | null) =>
    unwrap(
      client.POST("/api/v1/creator/polish", {
        body: context ? { text, field, context } : { text, field },
        headers: llmHeaders(llm),
      }),
    ),

  sessions: (id: string, f: SessionFilters) =>
    unwrap(client.GET("/api/v1/personas/{id}/sessions", { params: { path: { id }, query: { ...f } } })),
  session: (id: string, session_id: string) =>
    unwrap(client.GET("/api/v1/personas/{id}/sessions/{session_id}", { params: { path: { id, session_id } } })),

  usage: (query: { from?: string; to?: string; group_by?: UsageGroup }) =>
    unwrap(client.GET("/api/v1/usage", { params: { query } })),

  apiKeys: () => unwrap(client.GET("/api/v1/sdk/api-keys")),
  createApiKey: (name: string, scope: KeyScope = "full") =>
    unwrap(client.POST("/api/v1/sdk/api-keys", { body: { name, scope } })),
  revokeApiKey: (key_id: string) => unwrap(client.DELETE("/api/v1/sdk/api-keys/{key_id}", { params: { path: { key_id } } })),

  chat: {
    machines: (persona_id: string, user_session_id: string) =>
      unwrap(client.GET("/api/v1/chat/{persona_id}/machines", { params: { path: { persona_id }, query: { user_session_id } } })),
    init: (
      persona_id: string,
      machineId: string | null,
      body: { user_session_id: string; player_name: string; player_gender: string },
      llm: LlmChoice | null,
    ) =>
      unwrap(
        client.POST("/api/v1/chat/{persona_id}/init-session", {
          params: { path: { persona_id }, query: machineId ? { machine_id: machineId } : {} },
          body,
          headers: llmHeaders(llm),
        }),
      ),
    history: (persona_id: string, user_session_id: string, machine_id: string) =>
      unwrap(
        client.GET("/api/v1/chat/{persona_id}/history", {
          params: { path: { persona_id }, query: { user_session_id, machine_id } },
        }),
      ),
    reset: (persona_id: string, user_session_id: string, machine_id: string) =>
      unwrap(
        client.POST("/api/v1/chat/{persona_id}/reset", {
          params: { path: { persona_id }, query: { user_session_id, machine_id } },
        }),
      ),
    /** Streams one turn over SSE; resolves with the final ChatResponse (`done`). */
    stream: async (
      personaId: string,
      machineId: string,
      body: paths["/api/v1/chat/{persona_id}/message/stream"]["post"]["requestBody"]["content"]["application/json"],
      llm: LlmChoice | null,
      handlers: { onMetadata?: (m: ChatMetadata) => void; onText?: (t: string) => void },
      signal?: AbortSignal,
    ): Promise<ChatResponse> => {
      const route: keyof paths = "/api/v1/chat/{persona_id}/message/stream";
      const res = await send("POST", route.replace("{persona_id}", encodeURIComponent(personaId)), {
        query: { machine_id: machineId },
        body,
        llm,
        signal,
      });
      if (!res.body) throw await errorFromResponse(res);
      let done: ChatResponse | null = null;
      let failure: string | null = null;
      await readSse(res.body, (e) => {
        let data: unknown;
        try {
          data = JSON.parse(e.data);
        } catch {
          return;
        }
        if (e.event === "metadata") handlers.onMetadata?.(data as ChatMetadata);
        else if (e.event === "text_delta") handlers.onText?.((data as { text?: string }).text ?? "");
        else if (e.event === "done") done = data as ChatResponse;
        else if (e.event === "error") failure = (data as { error?: string }).error ?? "The turn failed";
      });
      if (failure) throw new Error(failure);
      if (!done) throw new Error("The stream ended before the turn finished");
      return done;
    },
  },
};

export type { LlmChoice };
