// Playtest a saved persona through the web-chat routes: init, streamed turns, the state
// machine's verdict per turn, unlocked scenarios, reset. The model comes from the shared
// picker (offline by default; a BYOK key stays in memory).
import { useMemo, useState } from "react";
import { api } from "../api";
import type { ChatResponse, Machine } from "../api/types";
import { ModelPicker, useLlm } from "../components/llm";

interface Turn {
  role: "npc" | "player";
  text: string;
  verdict?: ChatResponse;
}

export function Playtest(props: {
  personaId: string | null;
  machines: Machine[];
  machineIds: Record<string, string>;
  dirty: boolean;
  onState: (stateKey: string | null, machineKey: string | null) => void;
}) {
  const { choice } = useLlm();
  const usid = useMemo(() => `playtest-${Math.random().toString(36).slice(2, 10)}`, []);
  const [machineKey, setMachineKey] = useState(props.machines.find((m) => m.is_entry)?.machine_key ?? props.machines[0]?.machine_key ?? "");
  const [playerName, setPlayerName] = useState("Alex");
  const [gender, setGender] = useState("non-binary");
  const [turns, setTurns] = useState<Turn[]>([]);
  const [message, setMessage] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [last, setLast] = useState<ChatResponse | null>(null);
  const machineId = props.machineIds[machineKey] ?? null;

  if (!props.personaId) {
    return (
      <aside className="playtest" aria-label="Playtest">
        <h2>Playtest</h2>
        <p className="muted">Save the persona to playtest it.</p>
      </aside>
    );
  }
  const pid = props.personaId;

  const start = async (key = machineKey) => {
    setBusy(true);
    setError(null);
    try {
      const init = await api.chat.init(pid, props.machineIds[key] ?? null, { user_session_id: usid, player_name: playerName, player_gender: gender }, choice);
      setTurns([{ role: "npc", text: init.message }]);
      setLast(null);
      const initial = props.machines.find((m) => m.machine_key === key)?.states.find((s) => s.is_initial_state);
      props.onState(initial?.state_key ?? null, key);
    } catch (e) {
      setError(String((e as Error).message));
    } finally {
      setBusy(false);
    }
  };

  const send = async () => {
    if (!message.trim() || !machineId) return;
    const text = message;
    setMessage("");
    setBusy(true);
    setError(null);
    setTurns((t) => [...t, { role: "player", text }, { role: "npc", text: "" }]);
    try {
      const done = await api.chat.stream(pid, machineId, { message: text, user_session_id: usid }, choice, {
        onText: (delta) =>
          setTurns((t) => {
            const copy = t.slice();
            const lastTurn = copy[copy.length - 1];
            copy[copy.length - 1] = { ...lastTurn, text: lastTurn.text + delta };
            return copy;
          }),
        onMetadata: (m) => props.onState(m.current_state, machineKey),
      });
      setTurns((t) => {
        const copy = t.slice();
        copy[copy.length - 1] = { role: "npc", text: done.message, verdict: done };
        return copy;
      });
      setLast(done);
    } catch (e) {
      setError(String((e as Error).message));
      setTurns((t) => t.slice(0, -2));
      setMessage(text);
    } finally {
      setBusy(false);
    }
  };

  return (
    <aside className="playtest" aria-label="Playtest">
      <h2>Playtest</h2>
      {props.dirty && <p className="notice">Save to playtest the latest draft.</p>}
      <div className="playtest-setup">
        <label>
          Scenario
          <select value={machineKey} onChange={(e) => setMachineKey(e.target.value)}>
            {props.machines.map((m) => (
              <option key={m.machine_key} value={m.machine_key}>
                {m.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Player name
          <input value={playerName} onChange={(e) => setPlayerName(e.target.value)} />
        </label>
        <label>
          Player gender
          <select value={gender} onChange={(e) => setGender(e.target.value)}>
            <option value="female">female</option>
            <option value="male">male</option>
            <option value="non-binary">non-binary</option>
          </select>
        </label>
        <ModelPicker compact />
        <div className="row-actions">
          <button type="button" className="primary" onClick={() => start()} disabled={busy || !machineKey}>
            {turns.length ? "Restart" : "Start"}
          </button>
          {turns.length > 0 && machineId && (
            <button
              type="button"
              onClick={async () => {
                await api.chat.reset(pid, usid, machineId);
                setTurns([]);
                setLast(null);
                props.onState(null, machineKey);
              }}
            >
              Reset
            </button>
          )}
        </div>
      </div>
      <ol className="chat-log" aria-label="Conversation" aria-live="polite">
        {turns.map((t, i) => (
          <li key={i} className={`chat-turn ${t.role}`}>
            <span className="chat-who">{t.role === "npc" ? "NPC" : playerName}</span>
            <p>{t.text}</p>
            {t.verdict && (
              <p className="verdict" aria-label="Turn result">
                decision {t.verdict.decision ?? "—"} · state {t.verdict.current_state} · score {t.verdict.score}
                {t.verdict.follow_up ? " · follow-up" : ""}
                {t.verdict.outcome ? ` · outcome ${t.verdict.outcome}` : ""}
              </p>
            )}
          </li>
        ))}
      </ol>
      {last?.outcome && <p className="outcome" role="status">Outcome: {last.outcome}</p>}
      {last?.unlocked_machines?.length ? (
        <div className="row-actions">
          {last.unlocked_machines.map((u) => (
            <button
              key={u.machine_id}
              type="button"
              onClick={() => {
                setMachineKey(u.machine_key);
                void start(u.machine_key);
              }}
            >
              Play {u.name}
            </button>
          ))}
        </div>
      ) : null}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <form
        className="chat-input"
        onSubmit={(e) => {
          e.preventDefault();
          void send();
        }}
      >
        <label className="visually-hidden" htmlFor="playtest-message">
          Message
        </label>
        <input
          id="playtest-message"
          value={message}
          onChange={(e) => setMessage(e.target.value)}
          disabled={!turns.length || busy || !!last?.outcome}
          placeholder="Say something in character…"
        />
        <button type="submit" disabled={!turns.length || busy || !message.trim() || !!last?.outcome}>
          Send
        </button>
      </form>
    </aside>
  );
}
