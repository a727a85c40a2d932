// The LLM model choice for playtests, generation and polish. The API key is held in React
// state only (never localStorage, never sent anywhere but the X-LLM-* headers).
import { createContext, useContext, useId, useMemo, useState, type ReactNode } from "react";
import type { LlmChoice } from "../api/client";
import { useAuth } from "../auth/AuthProvider";

interface LlmState {
  choice: LlmChoice;
  setModel: (m: string) => void;
  setApiKey: (k: string) => void;
}

const Ctx = createContext<LlmState | null>(null);

export function LlmProvider(props: { children: ReactNode }) {
  const { config } = useAuth();
  const [model, setModel] = useState(config.default_model || "offline");
  const [apiKey, setApiKey] = useState("");
  const value = useMemo(() => ({ choice: { model: model.trim(), apiKey }, setModel, setApiKey }), [model, apiKey]);
  return <Ctx.Provider value={value}>{props.children}</Ctx.Provider>;
}

export function useLlm(): LlmState {
  const v = useContext(Ctx);
  if (!v) throw new Error("useLlm outside LlmProvider");
  return v;
}

const SUGGESTED = ["offline", "openai/gpt-4o-mini", "anthropic/claude-3-5-haiku-latest", "groq/llama-3.1-8b-instant", "ollama/llama3.2"];

/** Model name + API key fields (the key is optional and memory-only). */
export function ModelPicker(props: { compact?: boolean }) {
  const { choice, setModel, setApiKey } = useLlm();
  const id = useId();
  const needsKey = choice.model !== "offline" && !choice.model.startsWith("ollama/");
  return (
    <fieldset className={props.compact ? "model-picker compact" : "model-picker"}>
      <legend>AI model</legend>
      <label htmlFor={`${id}-model`}>Model</label>
      <input
        id={`${id}-model`}
        list={`${id}-models`}
        value={choice.model}
        placeholder="offline"
        spellCheck={false}
        autoComplete="off"
        onChange={(e) => setModel(e.target.value)}
      />
      <datalist id={`${id}-models`}>
        {SUGGESTED.map((m) => (
          <option key={m} value={m} />
        ))}
      </datalist>
      <label htmlFor={`${id}-key`}>API key</label>
      <input
        id={`${id}-key`}
        type="password"
        value={choice.apiKey}
        placeholder={needsKey ? "your provider key (kept in memory only)" : "not needed"}
        autoComplete="off"
        onChange={(e) => setApiKey(e.target.value)}
      />
      {!props.compact && (
        <p className="hint">
          <code>offline</code> is deterministic and needs no key. A key you type here stays in this tab's
          memory and is sent only with your requests.
        </p>
      )}
    </fieldset>
  );
}
