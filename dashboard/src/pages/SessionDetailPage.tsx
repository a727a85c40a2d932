import { useEffect, useState } from "react";
import { Link, useParams } from "react-router";
import { api } from "../api";
import { errorMessage } from "../api/errors";
import type { SessionDetail } from "../api/types";
import { formatTime } from "../components/format";
import { OutcomeBadge } from "./SessionsPage";

export function SessionDetailPage() {
  const { personaId = "", sessionId = "" } = useParams();
  const [detail, setDetail] = useState<SessionDetail | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [personaName, setPersonaName] = useState<string | null>(null);
  useEffect(() => {
    // The breadcrumb's name only: a failure leaves the generic label.
    api
      .full(personaId)
      .then((d) => setPersonaName(d.persona.name))
      .catch(() => undefined);
  }, [personaId]);
  useEffect(() => {
    api
      .session(personaId, sessionId)
      .then((d) => {
        setDetail(d);
        document.title = `Session of ${d.session.player_name} · Foil Studio`;
      })
      .catch((e) => setError(errorMessage(e)));
  }, [personaId, sessionId]);
  const s = detail?.session;
  return (
    <section className="page narrow-wide">
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <Link to="/">Personas</Link> › <Link to={`/personas/${personaId}`}>{personaName ?? "Persona"}</Link> ›{" "}
        <Link to={`/personas/${personaId}/sessions`}>Sessions</Link> › Session
      </nav>
      {error && <p className="error" role="alert">{error}</p>}
      {!detail && !error && <p role="status">Loading…</p>}
      {s && detail && (
        <>
          <div className="page-header">
            <div>
              <h1>
                {s.player_name || "(no name)"} · {s.machine_name}
              </h1>
              <p className="subtitle">
                {s.channel === "sdk" ? "Game (SDK)" : "Web chat"} · {s.player_gender} · started {formatTime(s.started_at)} ·
                last activity {formatTime(s.last_active_at)}
              </p>
            </div>
          </div>
          <dl className="facts card">
            <div>
              <dt>State</dt>
              <dd>
                <code>{s.current_state}</code>
              </dd>
            </div>
            <div>
              <dt>Score</dt>
              <dd>{s.score}</dd>
            </div>
            <div>
              <dt>Outcome</dt>
              <dd>
                <OutcomeBadge outcome={s.outcome} />
              </dd>
            </div>
            <div>
              <dt>Messages</dt>
              <dd>{s.message_count}</dd>
            </div>
          </dl>
          <ol className="transcript" aria-label="Messages">
            {detail.messages.map((m) => (
              <li key={m.id} className={`msg ${m.role}`}>
                <div className="msg-who">{m.role === "user" ? s.player_name || "Player" : "NPC"}</div>
                <div className="msg-text">{m.content}</div>
                <div className="msg-meta">
                  {m.state_key_at_time && (
                    <span>
                      state <code>{m.state_key_at_time}</code>
                    </span>
                  )}
                  {m.score_at_time !== null && <span>score {m.score_at_time}</span>}
                  {m.decision && <span className={`decision d-${m.decision}`}>{m.decision}</span>}
                  {m.follow_up_triggered && m.decision !== "follow_up" && <span className="decision d-follow_up">follow-up</span>}
                  <time dateTime={m.created_at}>{formatTime(m.created_at)}</time>
                </div>
                {m.evaluator_reason && (
                  <p className="reason">
                    <span className="reason-label">Evaluator's reason:</span> {m.evaluator_reason}
                  </p>
                )}
              </li>
            ))}
          </ol>
        </>
      )}
    </section>
  );
}
