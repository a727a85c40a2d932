import { useEffect, useId, useState } from "react";
import { Link, useParams, useSearchParams } from "react-router";
import { api } from "../api";
import { errorMessage } from "../api/errors";
import type { PersonaDocument, SessionList } from "../api/types";
import { formatTime, relativeTime } from "../components/format";

const PAGE = 20;

export function OutcomeBadge(props: { outcome?: string | null }) {
  if (!props.outcome) return <span className="badge info">Active</span>;
  const cls = props.outcome === "ACCEPT" ? "ok" : props.outcome === "KICK_OUT" ? "bad" : "warn";
  return <span className={`badge ${cls}`}>{props.outcome}</span>;
}

export function SessionsPage() {
  const { personaId = "" } = useParams();
  const [params, setParams] = useSearchParams();
  const [doc, setDoc] = useState<PersonaDocument | null>(null);
  const [list, setList] = useState<SessionList | null>(null);
  const [error, setError] = useState<string | null>(null);
  const id = useId();
  const machine = params.get("machine_id") ?? "";
  const outcome = params.get("outcome") ?? "";
  const channel = params.get("channel") ?? "";
  const offset = Math.max(0, Number(params.get("offset") ?? "0") || 0);

  useEffect(() => {
    api
      .full(personaId)
      .then((d) => {
        setDoc(d);
        document.title = `Sessions · ${d.persona.name} · Foil Studio`;
      })
      .catch((e) => setError(errorMessage(e)));
  }, [personaId]);

  useEffect(() => {
    let live = true;
    api
      .sessions(personaId, {
        limit: PAGE,
        offset,
        machine_id: machine || undefined,
        outcome: outcome || undefined,
        channel: channel || undefined,
      })
      .then((l) => live && (setList(l), setError(null)))
      .catch((e) => live && setError(errorMessage(e)));
    return () => {
      live = false;
    };
  }, [personaId, machine, outcome, channel, offset]);

  function setFilter(key: string, value: string) {
    const next = new URLSearchParams(params);
    if (value) next.set(key, value);
    else next.delete(key);
    next.delete("offset");
    setParams(next, { replace: true });
  }
  function setOffset(o: number) {
    const next = new URLSearchParams(params);
    if (o > 0) next.set("offset", String(o));
    else next.delete("offset");
    setParams(next);
  }

  return (
    <section className="page">
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <Link to="/">Personas</Link> › {doc ? <Link to={`/personas/${personaId}`}>{doc.persona.name}</Link> : "…"} › Sessions
      </nav>
      <div className="page-header">
        <div>
          <h1>Sessions{doc ? ` of ${doc.persona.name}` : ""}</h1>
          <p className="subtitle">Every conversation players had, from games (SDK) and web chat — open one to see why the NPC decided what it did.</p>
        </div>
      </div>
      <div className="filters card" role="search" aria-label="Filter sessions">
        <label htmlFor={`${id}-m`}>Scenario</label>
        <select id={`${id}-m`} value={machine} onChange={(e) => setFilter("machine_id", e.target.value)}>
          <option value="">All scenarios</option>
          {doc?.machines.map((m) => (
            <option key={m.id ?? m.machine_key} value={m.id ?? ""}>
              {m.name}
            </option>
          ))}
        </select>
        <label htmlFor={`${id}-o`}>Outcome</label>
        <select id={`${id}-o`} value={outcome} onChange={(e) => setFilter("outcome", e.target.value)}>
          <option value="">Any outcome</option>
          <option value="active">Still active</option>
          <option value="ACCEPT">ACCEPT</option>
          <option value="REJECT">REJECT</option>
          <option value="KICK_OUT">KICK_OUT</option>
        </select>
        <label htmlFor={`${id}-c`}>Channel</label>
        <select id={`${id}-c`} value={channel} onChange={(e) => setFilter("channel", e.target.value)}>
          <option value="">All channels</option>
          <option value="sdk">Game (SDK)</option>
          <option value="web">Web chat</option>
        </select>
      </div>
      {error && <p className="error" role="alert">{error}</p>}
      {!list && !error && <p role="status">Loading…</p>}
      {list && list.sessions.length === 0 && <p className="empty">No sessions match.</p>}
      {list && list.sessions.length > 0 && (
        <>
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Player</th>
                <th scope="col">Channel</th>
                <th scope="col">Scenario</th>
                <th scope="col">State</th>
                <th scope="col">Score</th>
                <th scope="col">Outcome</th>
                <th scope="col">Messages</th>
                <th scope="col">Last activity</th>
              </tr>
            </thead>
            <tbody>
              {list.sessions.map((s) => (
                <tr key={s.session_id}>
                  <td>
                    <Link to={`/personas/${personaId}/sessions/${s.session_id}`}>{s.player_name || "(no name)"}</Link>
                    <div className="muted small-text">{s.user_session_id}</div>
                  </td>
                  <td>{s.channel === "sdk" ? "Game (SDK)" : "Web"}</td>
                  <td>{s.machine_name}</td>
                  <td>
                    <code>{s.current_state}</code>
                  </td>
                  <td>{s.score}</td>
                  <td>
                    <OutcomeBadge outcome={s.outcome} />
                  </td>
                  <td>{s.message_count}</td>
                  <td>
                    <time dateTime={s.last_active_at} title={formatTime(s.last_active_at)}>
                      {relativeTime(s.last_active_at)}
                    </time>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <div className="pager">
            <span role="status">
              {list.offset + 1}–{list.offset + list.sessions.length} of {list.total}
            </span>
            <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
              Previous page
            </button>
            <button type="button" disabled={list.offset + list.sessions.length >= list.total} onClick={() => setOffset(offset + PAGE)}>
              Next page
            </button>
          </div>
        </>
      )}
    </section>
  );
}
