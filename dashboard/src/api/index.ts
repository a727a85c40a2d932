// Typed wrappers for every route the dashboard uses.
import { request, send, type LlmChoice } from "./client";
import { readSse } from "./sse";
import type {
  ApiKeyInfo,
  AuthResponse,
  ChatHistory,
  ChatMetadata,
  ChatResponse,
  CreatedApiKey,
  DashboardConfig,
  GeneratedPersona,
  Machine,
  MachineInfo,
  PersonaDocument,
  PersonaSummary,
  PolishResult,
  ResetResult,
  SessionDetail,
  SessionInit,
  SessionList,
  User,
  ValidationResult,
} from "./types";

const V1 = "/api/v1";
const enc = encodeURIComponent;

export interface SessionFilters {
  limit: number;
  offset: number;
  machine_id?: string;
  outcome?: string;
  channel?: string;
}

export const api = {
  config: () => request<DashboardConfig>("GET", `${V1}/dashboard/config`, { auth: false }),
  signup: (email: string, password: string, display_name?: string) =>
    request<AuthResponse>("POST", `${V1}/auth/signup`, {
      auth: false,
      body: display_name ? { email, password, display_name } : { email, password },
    }),
  login: (email: string, password: string) =>
    request<AuthResponse>("POST", `${V1}/auth/login`, { auth: false, body: { email, password } }),
  me: () => request<User>("GET", `${V1}/auth/me`),

  myPersonas: (limit = 100, offset = 0) =>
    request<PersonaSummary[]>("GET", `${V1}/personas`, { query: { my_personas: true, limit, offset } }),
  full: (id: string) => request<PersonaDocument>("GET", `${V1}/personas/${enc(id)}/full`),
  save: (doc: PersonaDocument, personaId?: string | null) =>
    request<PersonaSummary>("POST", `${V1}/creator/save`, {
      body: doc,
      query: { persona_id: personaId ?? undefined },
    }),
  validate: (doc: unknown, signal?: AbortSignal) =>
    request<ValidationResult>("POST", `${V1}/creator/validate`, { body: doc, signal }),
  publish: (id: string) => request<PersonaSummary>("POST", `${V1}/personas/${enc(id)}/publish`),
  unpublish: (id: string) => request<PersonaSummary>("POST", `${V1}/personas/${enc(id)}/unpublish`),
  remove: (id: string) => request<void>("DELETE", `${V1}/personas/${enc(id)}`),

  generatePersona: (brief: string, llm: LlmChoice | null) =>
    request<GeneratedPersona>("POST", `${V1}/creator/generate/persona`, { body: { brief }, llm }),
  generateMachine: (
    body: { persona_id?: string; identity?: GeneratedPersona | Record<string, unknown>; brief: string },
    llm: LlmChoice | null,
  ) => request<Machine>("POST", `${V1}/creator/generate/machine`, { body, llm }),
  polish: (text: string, field: string, context: string | undefined, llm: LlmChoice | null) =>
    request<PolishResult>("POST", `${V1}/creator/polish`, {
      body: context ? { text, field, context } : { text, field },
      llm,
    }),

  sessions: (personaId: string, f: SessionFilters) =>
    request<SessionList>("GET", `${V1}/personas/${enc(personaId)}/sessions`, { query: { ...f } }),
  session: (personaId: string, sessionId: string) =>
    request<SessionDetail>("GET", `${V1}/personas/${enc(personaId)}/sessions/${enc(sessionId)}`),

  apiKeys: () => request<ApiKeyInfo[]>("GET", `${V1}/sdk/api-keys`),
  createApiKey: (name: string) => request<CreatedApiKey>("POST", `${V1}/sdk/api-keys`, { body: { name } }),
  revokeApiKey: (id: string) => request<void>("DELETE", `${V1}/sdk/api-keys/${enc(id)}`),

  chat: {
    machines: (pid: string, user_session_id: string) =>
      request<MachineInfo[]>("GET", `${V1}/chat/${enc(pid)}/machines`, { query: { user_session_id } }),
    init: (
      pid: string,
      machineId: string | null,
      body: { user_session_id: string; player_name: string; player_gender: string },
      llm: LlmChoice | null,
    ) =>
      request<SessionInit>("POST", `${V1}/chat/${enc(pid)}/init-session`, {
        query: { machine_id: machineId ?? undefined },
        body,
        llm,
      }),
    history: (pid: string, user_session_id: string, machine_id: string) =>
      request<ChatHistory>("GET", `${V1}/chat/${enc(pid)}/history`, { query: { user_session_id, machine_id } }),
    reset: (pid: string, user_session_id: string, machine_id: string) =>
      request<ResetResult>("POST", `${V1}/chat/${enc(pid)}/reset`, { query: { user_session_id, machine_id } }),
    /** Streams one turn; resolves with the final ChatResponse (`done`). */
    stream: async (
      pid: string,
      machineId: string,
      body: { message: string; user_session_id: string },
      llm: LlmChoice | null,
      handlers: { onMetadata?: (m: ChatMetadata) => void; onText?: (t: string) => void },
      signal?: AbortSignal,
    ): Promise<ChatResponse> => {
      const res = await send("POST", `${V1}/chat/${enc(pid)}/message/stream`, {
        query: { machine_id: machineId },
        body,
        llm,
        signal,
      });
      if (!res.body) throw new Error("The server sent no stream");
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
        else if (e.event === "text_delta") handlers.onText?.((data as { text: string }).text ?? "");
        else if (e.event === "done") done = data as ChatResponse;
        else if (e.event === "error") failure = (data as { error?: string }).error ?? "The turn failed";
      });
      if (failure) throw new Error(failure);
      if (!done) throw new Error("The stream ended early");
      return done;
    },
  },
};

export type { LlmChoice };
