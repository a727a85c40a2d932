// The persona editor: identity, variables, scenarios (settings, state-machine graph), machine
// links, the raw document, validation as you type, save / publish, and the playtest panel.
import { useEffect, useMemo, useRef, useState } from "react";
import { Link, useBlocker, useLocation, useNavigate, useParams } from "react-router";
import { api } from "../api";
import type { PersonaDocument, ValidationIssue } from "../api/types";
import { LinksGraph, MachineGraph } from "../graph";
import { blankDocument, blankMachine, exportDocument } from "../lib/document";
import { clearDraft, loadDraft, saveDraft } from "../lib/drafts";
import { describePath } from "../lib/issues";
import { EditorContext } from "./context";
import { DocumentSection } from "./DocumentSection";
import { IdentitySection, removeMachine, renameMachineKey, ScenarioSettings, VariablesSection } from "./sections";
import { Playtest } from "./Playtest";

type Tab = "graph" | "settings" | "links" | "document";

export default function EditorPage() {
  const { personaId } = useParams();
  const id = personaId ?? null;
  const location = useLocation();
  const navigate = useNavigate();
  const [doc, setDoc] = useState<PersonaDocument | null>(null);
  const [saved, setSaved] = useState<string>("");
  const [issues, setIssues] = useState<ValidationIssue[]>([]);
  const [machineIndex, setMachineIndex] = useState(0);
  const [tab, setTab] = useState<Tab>("graph");
  const [status, setStatus] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [published, setPublished] = useState(false);
  const [machineIds, setMachineIds] = useState<Record<string, string>>({});
  const [active, setActive] = useState<{ state: string | null; machine: string | null }>({ state: null, machine: null });

  const load = async () => {
    if (!id) {
      const fromNav = (location.state as { doc?: PersonaDocument } | null)?.doc;
      const start = fromNav ?? loadDraft(null)?.doc ?? blankDocument();
      setDoc(start);
      setSaved("");
      return;
    }
    const full = await api.full(id);
    setSaved(JSON.stringify(full));
    setPublished(!!full.persona.is_published);
    setMachineIds(Object.fromEntries(full.machines.filter((m) => m.id).map((m) => [m.machine_key, m.id as string])));
    setDoc(loadDraft(id)?.doc ?? full);
  };
  useEffect(() => {
    load().catch((e) => setError(String(e.message ?? e)));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [id]);

  const dirty = !!doc && JSON.stringify(doc) !== saved;
  // Drafts survive reloads and expired sign-ins until saved.
  useEffect(() => {
    if (doc && dirty) saveDraft(id, doc);
  }, [doc, dirty, id]);

  // Validation as you type (debounced; the server always answers 200 with the issues).
  const timer = useRef<number | undefined>(undefined);
  useEffect(() => {
    if (!doc) return;
    const controller = new AbortController();
    window.clearTimeout(timer.current);
    timer.current = window.setTimeout(() => {
      api
        .validate(doc, controller.signal)
        .then((r) => setIssues(r.issues))
        .catch(() => {});
    }, 400);
    return () => {
      window.clearTimeout(timer.current);
      controller.abort();
    };
  }, [doc]);

  useEffect(() => {
    const warn = (e: BeforeUnloadEvent) => {
      if (dirty) e.preventDefault();
    };
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, [dirty]);
  // Set just before the editor navigates itself (a new persona's first save).
  const leaving = useRef(false);
  const blocker = useBlocker(
    ({ currentLocation, nextLocation }) =>
      dirty && !leaving.current && currentLocation.pathname !== nextLocation.pathname,
  );

  const ctx = useMemo(() => ({ issues, personaName: doc?.persona.name ?? "" }), [issues, doc?.persona.name]);
  if (error && !doc) return <p className="error" role="alert">{error}</p>;
  if (!doc) return <p className="loading">Loading…</p>;
  const machine = doc.machines[machineIndex];

  const save = async () => {
    setStatus(null);
    setError(null);
    try {
      const summary = await api.save(doc, id);
      clearDraft(id);
      setStatus("Saved");
      if (!id) {
        setSaved(JSON.stringify(doc));
        leaving.current = true;
        navigate(`/personas/${summary.id}`, { replace: true });
        return;
      }
      await load();
    } catch (e) {
      setError(`Not saved: ${(e as Error).message}`);
    }
  };
  const togglePublish = async () => {
    if (!id) return;
    const s = published ? await api.unpublish(id) : await api.publish(id);
    setPublished(s.is_published);
    setStatus(s.is_published ? "Published" : "Unpublished");
  };

  return (
    <EditorContext.Provider value={ctx}>
      <div className="page editor">
        <div className="page-header">
          <h1>{doc.persona.name || "Untitled persona"}</h1>
          <div className="toolbar">
            {dirty && <span className="badge">Unsaved changes</span>}
            <button type="button" className="primary" onClick={save}>
              Save
            </button>
            {id && (
              <button type="button" onClick={togglePublish} disabled={dirty}>
                {published ? "Unpublish" : "Publish"}
              </button>
            )}
            <button type="button" onClick={() => exportDocument(doc, "json")}>
              Export JSON
            </button>
            <button type="button" onClick={() => exportDocument(doc, "yaml")}>
              Export YAML
            </button>
            {id && <Link to={`/personas/${id}/sessions`}>Sessions</Link>}
          </div>
        </div>
        {status && <p className="notice" role="status">{status}</p>}
        {error && <p className="error" role="alert">{error}</p>}
        {issues.length > 0 && (
          <section className="issues" aria-label="Problems">
            <h2>{issues.length === 1 ? "1 problem" : `${issues.length} problems`}</h2>
            <ul>
              {issues.map((i, n) => (
                <li key={n}>
                  <strong>{describePath(i.path, { machines: doc.machines.map((m) => m.name) })}</strong>: {i.message}
                </li>
              ))}
            </ul>
          </section>
        )}
        <IdentitySection persona={doc.persona} onChange={(persona) => setDoc({ ...doc, persona })} />
        <VariablesSection variables={doc.variables ?? []} onChange={(variables) => setDoc({ ...doc, variables })} />
        <section className="scenarios" aria-label="Scenarios">
          <h2>Scenarios</h2>
          <div className="tabs" role="tablist" aria-label="Scenarios">
            {doc.machines.map((m, i) => (
              <button key={i} role="tab" type="button" aria-selected={i === machineIndex} onClick={() => setMachineIndex(i)}>
                {m.name || m.machine_key}
              </button>
            ))}
            <button
              type="button"
              onClick={() => {
                setDoc({ ...doc, machines: [...doc.machines, blankMachine(doc.machines.map((m) => m.machine_key))] });
                setMachineIndex(doc.machines.length);
              }}
            >
              Add scenario
            </button>
            {doc.machines.length > 1 && (
              <button
                type="button"
                className="danger-ghost"
                onClick={() => {
                  setDoc(removeMachine(doc, machineIndex));
                  setMachineIndex(0);
                }}
              >
                Remove scenario
              </button>
            )}
          </div>
          <div className="tabs" role="tablist" aria-label="Views">
            {(["graph", "settings", "links", "document"] as Tab[]).map((t) => (
              <button key={t} role="tab" type="button" aria-selected={tab === t} onClick={() => setTab(t)}>
                {{ graph: "Graph", settings: "Settings", links: "Links", document: "Document" }[t]}
              </button>
            ))}
          </div>
          <div className="editor-body">
            <div className="editor-main">
              {tab === "graph" && machine && (
                <MachineGraph
                  machine={machine}
                  machineIndex={machineIndex}
                  issues={issues}
                  activeStateKey={active.machine === machine.machine_key ? active.state : null}
                  onChange={(m) => setDoc({ ...doc, machines: doc.machines.map((x, i) => (i === machineIndex ? m : x)) })}
                />
              )}
              {tab === "settings" && machine && (
                <ScenarioSettings
                  machine={machine}
                  index={machineIndex}
                  onChange={(m) => setDoc({ ...doc, machines: doc.machines.map((x, i) => (i === machineIndex ? m : x)) })}
                  onRenameKey={(_old, next) => setDoc(renameMachineKey(doc, machineIndex, next))}
                />
              )}
              {tab === "links" && <LinksGraph document={doc} issues={issues} onChange={setDoc} />}
              {tab === "document" && <DocumentSection doc={doc} onApply={setDoc} />}
            </div>
            <Playtest
              personaId={id}
              machines={doc.machines}
              machineIds={machineIds}
              dirty={dirty}
              onState={(state, machineKey) => setActive({ state, machine: machineKey })}
            />
          </div>
        </section>
        {blocker.state === "blocked" && (
          <div role="dialog" aria-label="Unsaved changes" className="dialog">
            <p>You have unsaved changes. Leave anyway? (Your draft is kept in this browser.)</p>
            <div className="dialog-actions">
              <button type="button" onClick={() => blocker.reset()}>
                Stay
              </button>
              <button type="button" className="primary" onClick={() => blocker.proceed()}>
                Leave
              </button>
            </div>
          </div>
        )}
      </div>
    </EditorContext.Provider>
  );
}
