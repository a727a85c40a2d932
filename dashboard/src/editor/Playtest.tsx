// The playtest chat beside the graph: web-chat routes, the reply streamed over SSE.
import { useCallback, useEffect, useId, useRef, useState } from "react";
import { api } from "../api";
import { errorMessage } from "../api/errors";
import type { ChatMetadata, MachineInfo, PersonaDocument, UnlockedMachine } from "../api/types";
import { ModelPicker, useLlm } from "../components/llm";

interface Turn {
  role: "assistant" | "user";
  text: string;
  meta?: ChatMetadata;
  streaming?: boolean;
}

function newUserSessionId(): string {
  const rnd =
    typeof crypto !== "undefined" && "randomUUID" in crypto
      ? crypto.randomUUID().slice(0, 8)
      : Math.random().toString(16).slice(2, 10);
  return `studio-${rnd}`;
}

export function Playtest(props: {
  personaId: string | null;
  dirty: boolean;
  /** The saved document (for state keys and scenario names). */
  doc: PersonaDocument;
  /** Bumped after each save, to refresh the scenario list. */
  version: number;
  preferredMachineKey: string | null;
  onActiveState: (machineKey: string | null, stateKey: string | null) => void;
}) {
  const { personaId, onActiveState } = props;
  const { choice } = useLlm();
  const id = useId();
  const [userSessionId] = useState(newUserSessionId);
  const [machines, setMachines] = useState<MachineInfo[] | null>(null);
  const [machineId, setMachineId] = useState<string>("");
  const [playerName, setPlayerName] = useState("Alex");
  const [gender, setGender] = useState("female");
  const [turns, setTurns] = useState<Turn[]>([]);
  const [started, setStarted] = useState(false);
  const [busy, setBusy] = useState<null | "starting" | "sending" | "resetting">(null);
  const [error, setError] = useState<string | null>(null);
  const [message, setMessage] = useState("");
  const [last, setLast] = useState<ChatMetadata | null>(null);
  const [unlocked, setUnlocked] = useState<UnlockedMachine[]>([]);
  const logRef = useRef<HTMLOListElement>(null);
  const abortRef = useRef<AbortController | null>(null);

  const loadMachines = useCallback(async () => {
    if (!personaId) return;
    try {
      const list = await api.chat.machines(personaId, userSessionId);
      setMachines(list);
      setMachineId((cur) => {
        if (cur && list.some((m) => m.machine_id === cur)) return cur;
        const pref = list.find((m) => m.machine_key === props.preferredMachineKey);
        return (pref ?? list[0])?.machine_id ?? "";
      });
    } catch (e) {
      setError(errorMessage(e));
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [personaId, userSessionId]);

  useEffect(() => {
    void loadMachines();
  }, [loadMachines, props.version]);

  useEffect(() => () => abortRef.current?.abort(), []);

  useEffect(() => {
    // Scroll the conversation itself (not the page) to the newest message.
    const log = logRef.current;
    if (log) log.scrollTop = log.scrollHeight;
  }, [turns]);

  const machine = machines?.find((m) => m.machine_id === machineId) ?? null;
  const docMachine = props.doc.machines.find((m) => m.machine_key === machine?.machine_key);
  const initialState = docMachine?.states.find((s) => s.is_initial_state)?.state_key ?? null;

  async function start(targetId = machineId) {
    if (!personaId || !targetId) return;
    const target = machines?.find((m) => m.machine_id === targetId);
    setBusy("starting");
    setError(null);
    setUnlocked([]);
    setLast(null);
    try {
      const init = await api.chat.init(
        personaId,
        targetId,
        { user_session_id: userSessionId, player_name: playerName.trim() || "Player", player_gender: gender },
        choice,
      );
      setMachineId(targetId);
      setTurns([{ role: "assistant", text: init.message }]);
      setStarted(true);
      const dm = props.doc.machines.find((m) => m.machine_key === target?.machine_key);
      onActiveState(target?.machine_key ?? null, dm?.states.find((s) => s.is_initial_state)?.state_key ?? null);
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(null);
    }
  }

  async function send() {
    const text = message.trim();
    if (!personaId || !machineId || !text) return;
    setBusy("sending");
    setError(null);
    setMessage("");
    setTurns((t) => [...t, { role: "user", text }, { role: "assistant", text: "", streaming: true }]);
    const patchLast = (f: (t: Turn) => Turn) =>
      setTurns((ts) => ts.map((t, i) => (i === ts.length - 1 ? f(t) : t)));
    const ctrl = new AbortController();
    abortRef.current = ctrl;
    try {
      const done = await api.chat.stream(
        personaId,
        machineId,
        { message: text, user_session_id: userSessionId },
        choice,
        {
          onMetadata: (meta) => {
            patchLast((t) => ({ ...t, meta }));
            setLast(meta);
            onActiveState(machine?.machine_key ?? null, meta.current_state);
          },
          onText: (delta) => patchLast((t) => ({ ...t, text: t.text + delta })),
        },
        ctrl.signal,
      );
      const { message: reply, ...meta } = done;
      patchLast((t) => ({ ...t, text: reply || t.text, meta, streaming: false }));
      setLast(meta);
      onActiveState(machine?.machine_key ?? null, meta.current_state);
      if (meta.unlocked_machines.length) setUnlocked(meta.unlocked_machines);
      if (meta.outcome) void loadMachines();
    } catch (e) {
      // Nothing was applied: drop the pending reply, give the text back.
      setTurns((ts) => ts.slice(0, -2));
      setMessage(text);
      setError(errorMessage(e));
    } finally {
      abortRef.current = null;
      setBusy(null);
    }
  }

  async function reset() {
    if (!personaId || !machineId) return;
    setBusy("resetting");
    setError(null);
    try {
      if (started) await api.chat.reset(personaId, userSessionId, machineId);
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(null);
    }
    setTurns([]);
    setStarted(false);
    setLast(null);
    setUnlocked([]);
    onActiveState(null, null);
  }

  if (!personaId) {
    return (
      <aside className="playtest" aria-labelledby={`${id}-title`}>
        <h2 id={`${id}-title`}>Playtest</h2>
        <p className="notice">Save the persona to playtest it.</p>
      </aside>
    );
  }

  const ended = !!last?.outcome;
  return (
    <aside className="playtest" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Playtest</h2>
      {props.dirty && (
        <p className="warning small-text" role="note">
          Save to playtest the latest draft. The playtest runs the saved version.
        </p>
      )}
      <div className="playtest-setup">
        <label htmlFor={`${id}-machine`}>Scenario to play</label>
        <select
          id={`${id}-machine`}
          value={machineId}
          disabled={!machines || busy !== null}
          onChange={(e) => {
            setMachineId(e.target.value);
            setTurns([]);
            setStarted(false);
            setLast(null);
            setUnlocked([]);
            onActiveState(null, null);
          }}
        >
          {machines?.map((m) => (
            <option key={m.machine_id} value={m.machine_id}>
              {m.name}
              {m.session_outcome ? ` (${m.session_outcome})` : ""}
            </option>
          ))}
        </select>
        <div className="grid-2">
          <div>
            <label htmlFor={`${id}-player`}>Player name</label>
            <input id={`${id}-player`} value={playerName} maxLength={64} onChange={(e) => setPlayerName(e.target.value)} />
          </div>
          <div>
            <label htmlFor={`${id}-gender`}>Player gender</label>
            <select id={`${id}-gender`} value={gender} onChange={(e) => setGender(e.target.value)}>
              <option value="female">female</option>
              <option value="male">male</option>
              <option value="non-binary">non-binary</option>
            </select>
          </div>
        </div>
        <details className="model-details">
          <summary>Model: {choice.model || "offline"}</summary>
          <ModelPicker compact />
        </details>
        <div className="button-row">
          <button type="button" className="primary" disabled={!machineId || busy !== null} onClick={() => void start()}>
            {started ? "Restart" : "Start"}
          </button>
          <button type="button" disabled={!started || busy !== null} onClick={() => void reset()}>
            Reset
          </button>
        </div>
      </div>
      {error && (
        <p className="error small-text" role="alert">
          {error}
        </p>
      )}
      <ol className="chat" ref={logRef} role="log" aria-label="Playtest conversation" aria-live="polite">
        {turns.map((t, i) => (
          <li key={i} className={`bubble ${t.role}${t.streaming ? " streaming" : ""}`}>
            <div className="bubble-text">{t.text || (t.streaming ? "…" : "")}</div>
            {t.meta && (
              <div className="turn-meta" aria-label="Turn result">
                {t.meta.decision && <span className={`decision d-${t.meta.decision}`}>{t.meta.decision}</span>}
                {t.meta.follow_up && t.meta.decision !== "follow_up" && <span className="decision d-follow_up">follow-up</span>}
                <span>
                  state <code>{t.meta.current_state}</code>
                </span>
                <span>score {t.meta.score}</span>
                {t.meta.outcome && <span className="badge strong">outcome {t.meta.outcome}</span>}
              </div>
            )}
          </li>
        ))}
      </ol>
      {started && !ended && (
        <p className="hint small-text">
          State <code>{last?.current_state ?? initialState ?? "?"}</code> · score {last?.score ?? 0}
        </p>
      )}
      {ended && (
        <p className="outcome" role="status">
          Outcome: {last?.outcome}
        </p>
      )}
      {unlocked.length > 0 && (
        <div className="unlocked">
          <p>Unlocked:</p>
          {unlocked.map((u) => (
            <button
              key={u.machine_id}
              type="button"
              onClick={async () => {
                await loadMachines();
                void start(u.machine_id);
              }}
            >
              Play {u.name}
              {u.is_auto_advance ? " (auto-advance)" : ""}
            </button>
          ))}
        </div>
      )}
      <form
        className="chat-input"
        onSubmit={(e) => {
          e.preventDefault();
          void send();
        }}
      >
        <label htmlFor={`${id}-msg`} className="visually-hidden">
          Message
        </label>
        <textarea
          id={`${id}-msg`}
          rows={2}
          value={message}
          placeholder={started ? (ended ? "The scenario has ended." : "Say something…") : "Press Start first"}
          disabled={!started || ended}
          onChange={(e) => setMessage(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === "Enter" && !e.shiftKey) {
              e.preventDefault();
              void send();
            }
          }}
        />
        <button type="submit" className="primary" disabled={!started || ended || busy !== null || !message.trim()}>
          Send
        </button>
      </form>
    </aside>
  );
}
