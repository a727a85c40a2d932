// Friendly names for the API's types, generated from the server's OpenAPI document
// (openapi.json → schema.d.ts by `npm run gen:api`), so that API drift fails `tsc`.
// The graph editor (src/graph/) and the rest of the dashboard import their types from here.
import type { components, paths } from "./schema";

type S = components["schemas"];

export type { components, paths };

export type DecisionType = S["DecisionType"];
export type Outcome = S["Outcome"];
export type ScoringMode = S["ScoringMode"];
export type LinkConditionType = S["LinkConditionType"];
export type Position = S["Position"];

export type State = S["State"];
export type Transition = S["Transition"];
export type OutputVariable = S["OutputVariable"];
/** A scenario. `transitions` is always present in the editor (see normalizeDocument). */
export type Machine = Omit<S["Machine"], "transitions"> & { transitions: Transition[] };
export type MachineLink = Omit<S["MachineLink"], "condition_value"> & {
  /** `ACCEPT`/`REJECT`/`KICK_OUT` for `outcome`, a number for `score_*`, absent for `always`. */
  condition_value?: string | number | null;
};
export type PersonaVariable = S["PersonaVariable"];
export type PersonaIdentity = S["PersonaInfo"];
export type PersonaDocument = Omit<S["PersonaDocument"], "machines" | "machine_links"> & {
  machines: Machine[];
  machine_links?: MachineLink[];
};

export type ValidationIssue = S["ValidationIssue"];
export type ValidationResult = S["ValidationReport"];
export type PersonaSummary = S["PersonaSummary"];

export type User = S["UserInfo"];
export type AuthResponse = S["TokenResponse"];
export type DashboardConfig = Omit<S["DashboardConfig"], "auth_mode"> & { auth_mode: "builtin" | "supabase" | (string & {}) };

export type SessionSummary = S["SessionSummary"];
export type UsageReport = S["UsageReport"];
export type UsageRow = S["UsageRow"];
export type UsageGroup = NonNullable<paths["/api/v1/usage"]["get"]["parameters"]["query"]>["group_by"];
export type SessionList = S["SessionPage"];
export type SessionMessage = S["SessionMessage"];
export type SessionDetail = S["SessionDetail"];

export type MachineInfo = S["MachineInfo"];
export type SessionInit = S["SessionInit"];
export type UnlockedMachine = S["UnlockedMachine"];
export type ChatResponse = S["ChatResponse"];
export type ChatMetadata = Omit<ChatResponse, "message">;
export type ChatMessage = S["Message"];
export type ChatHistory = S["ChatHistory"];
export type ResetResult = S["ResetResult"];

export type ApiKeyInfo = S["ApiKeyListItem"];
export type CreatedApiKey = S["CreatedApiKey"];
export type KeyScope = S["KeyScope"];
export type GeneratedPersona = S["PersonaDraft"];
export type PolishResult = S["PolishResponse"];
export type GenerateMachineRequest = S["GenerateMachineRequest"];
