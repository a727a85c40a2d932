// Friendly names for the API's types. The graph editor (src/graph/) and the rest of the
// dashboard import their types from here. Hand-written to match personas.md §1 until the
// generated schema (schema.d.ts from openapi.json) is available.

export type DecisionType = "pass" | "redirect" | "reject" | "kick_out";
export type Outcome = "ACCEPT" | "REJECT" | "KICK_OUT";
export type ScoringMode = "scoring" | "pass_fail";
export type LinkConditionType = "outcome" | "score_gte" | "score_lte" | "always";

export interface Position {
  x: number;
  y: number;
}

export interface State {
  id?: string;
  state_key: string;
  label?: string | null;
  prompt_instruction: string;
  is_initial_state?: boolean;
  is_terminal_state?: boolean;
  terminal_outcome?: Outcome | null;
  follow_up_condition?: string | null;
  display_order?: number | null;
  /** Editor layout only; the engine ignores it. */
  position?: Position | null;
}

export interface Transition {
  id?: string;
  from_state_key: string;
  to_state_key: string;
  decision_type: DecisionType;
  condition: string;
  score_delta?: number;
  priority?: number;
}

export interface OutputVariable {
  id?: string;
  key: string;
  extraction_prompt: string;
}

export interface Machine {
  id?: string;
  machine_key: string;
  name: string;
  description?: string | null;
  is_entry?: boolean;
  creator_objective?: string | null;
  creator_win_condition?: string | null;
  creator_lose_condition?: string | null;
  chat_system_prompt?: string | null;
  system_evaluation_prompt?: string | null;
  system_summarization_prompt?: string | null;
  scoring_mode?: ScoringMode;
  pass_threshold?: number | null;
  fail_threshold?: number | null;
  states: State[];
  transitions: Transition[];
  output_variables?: OutputVariable[];
}

export interface MachineLink {
  id?: string;
  from_machine_key: string;
  to_machine_key: string;
  condition_type: LinkConditionType;
  condition_value?: string | number | null;
  is_auto_advance?: boolean;
}

export interface PersonaVariable {
  id?: string;
  key: string;
  default_value?: string | null;
  description?: string | null;
}

export interface PersonaIdentity {
  id?: string;
  name: string;
  description?: string | null;
  identity_prompt: string;
  is_public?: boolean;
  is_published?: boolean;
}

export interface PersonaDocument {
  id?: string;
  persona: PersonaIdentity;
  variables?: PersonaVariable[];
  machines: Machine[];
  machine_links?: MachineLink[];
}

export interface ValidationIssue {
  path: string;
  message: string;
}

export interface ValidationResult {
  valid: boolean;
  issues: ValidationIssue[];
}

export interface PersonaSummary {
  id: string;
  name: string;
  description: string | null;
  is_public: boolean;
  is_published: boolean;
  created_at: string;
  updated_at: string;
}

export interface User {
  id: string;
  email: string | null;
  display_name: string | null;
}

export interface AuthResponse {
  access_token: string;
  token_type: string;
  expires_in: number;
  user: User;
}

export interface DashboardConfig {
  auth_mode: "builtin" | "supabase";
  signup_enabled: boolean;
  supabase_url: string | null;
  supabase_anon_key: string | null;
  default_model: string;
}

export interface SessionSummary {
  session_id: string;
  channel: "sdk" | "web";
  user_session_id: string;
  player_name: string;
  player_gender: string;
  machine_id: string;
  machine_key: string;
  machine_name: string;
  current_state: string;
  score: number;
  outcome: string | null;
  message_count: number;
  started_at: string;
  last_active_at: string;
}

export interface SessionList {
  sessions: SessionSummary[];
  total: number;
  limit: number;
  offset: number;
}

export interface SessionMessage {
  id: string;
  seq: number;
  role: "assistant" | "user";
  content: string;
  state_key_at_time: string | null;
  score_at_time: number | null;
  decision: string | null;
  follow_up_triggered: boolean;
  evaluator_reason: string | null;
  created_at: string;
}

export interface SessionDetail {
  session: SessionSummary;
  messages: SessionMessage[];
}

export interface MachineInfo {
  machine_id: string;
  machine_key: string;
  name: string;
  description: string | null;
  has_session: boolean;
  session_outcome: string | null;
  is_linked: boolean;
}

export interface SessionInit {
  session_id: string;
  user_session_id: string;
  persona_name: string;
  persona_description: string | null;
  player_name: string;
  player_gender: string;
  message: string;
  machine_id: string;
}

export interface UnlockedMachine {
  machine_id: string;
  machine_key: string;
  name: string;
  is_auto_advance: boolean;
}

export interface ChatResponse {
  message: string;
  current_state: string;
  score: number;
  outcome: string | null;
  decision: string | null;
  follow_up: boolean;
  session_id: string;
  scoring_mode: string;
  redirect_count: number | null;
  machine_completed: boolean;
  unlocked_machines: UnlockedMachine[];
}

export type ChatMetadata = Omit<ChatResponse, "message">;

export interface ChatMessage {
  id: string;
  role: "assistant" | "user";
  content: string;
  state_key_at_time: string | null;
  score_at_time: number | null;
  decision: string | null;
  follow_up_triggered: boolean;
  created_at: string;
}

export interface ChatHistory {
  session_id: string;
  persona_id: string;
  messages: ChatMessage[];
  current_state: string;
  score: number;
  outcome: string | null;
  player_name: string;
  player_gender: string;
  started_at: string;
  last_message_at: string;
}

export interface ResetResult {
  session_id: string;
  message: string;
}

export interface ApiKeyInfo {
  id: string;
  name: string;
  key_prefix: string;
  key_hint: string;
  created_at: string;
  last_used_at: string | null;
}

export interface CreatedApiKey {
  id: string;
  name: string;
  key: string;
  key_prefix: string;
  created_at: string;
}

export interface GeneratedPersona {
  name: string;
  description: string;
  identity_prompt: string;
}

export interface PolishResult {
  text: string;
}
