// The persona editor: identity, variables, scenarios (settings + graph), links, raw document;
// validation as you type, save, publish, playtest. Unsaved work is kept in localStorage.
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { Link, useBlocker, useLocation, useNavigate, useParams } from "react-router";
import { api } from "../api";
import { ApiError, errorMessage } from "../api/errors";
import type { Machine, PersonaDocument, ValidationIssue } from "../api/types";
import { ConfirmDialog } from "../components/Dialog";
import { formatTime } from "../components/format";
import { LinksGraph, MachineGraph } from "../graph";
import { blankDocument, blankMachine, exportDocument, stripIds } from "../lib/document";
import { clearDraft, loadDraft, saveDraft } from "../lib/drafts";
import { describePath, issuesUnder, targetOf, type IssueTarget } from "../lib/issues";
import { EditorContext } from "./context";
import { DocumentSection } from "./DocumentSection";
import { Playtest } from "./Playtest";
import { IdentitySection, removeMachine, renameMachineKey, ScenarioSettings, VariablesSection } from "./sections";

type Section = "identity" | "variables" | "scenario" | "links" | "document";
type ScenarioTab = "graph" | "settings";

const json = (d: PersonaDocument) => JSON.stringify(d);

export default function EditorPage() {
  const { personaId = null } = useParams();
  const location = useLocation();
  const navigate = useNavigate();

  const [doc, setDoc] = useState<PersonaDocument | null>(null);
  const [baseline, setBaseline] = useState<string | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [restoredAt, setRestoredAt] = useState<number | null>(null);
  const [issues, setIssues] = useState<ValidationIssue[]>([]);
  const [warnings, setWarnings] = useState<ValidationIssue[]>([]);
  const [validating, setValidating] = useState(false);
  const [saving, setSaving] = useState(false);
  const [saveError, setSaveError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [section, setSection] = useState<Section>("scenario");
  const [machineIndex, setMachineIndex] = useState(0);
  const [tab, setTab] = useState<ScenarioTab>("graph");
  const [showIssues, setShowIssues] = useState(true);
  const [showPlaytest, setShowPlaytest] = useState(true);
  const [version, setVersion] = useState(0);
  const [active, setActive] = useState<{ machineKey: string | null; stateKey: string | null }>({ machineKey: null, stateKey: null });
  const [confirmRemove, setConfirmRemove] = useState<number | null>(null);
  const [pendingFocus, setPendingFocus] = useState<string | null>(null);
  const [publishing, setPublishing] = useState(false);

  // ---- loading -------------------------------------------------------------------------
  useEffect(() => {
    let live = true;
    setDoc(null);
    setLoadError(null);
    setRestoredAt(null);
    const incoming = (location.state as { doc?: PersonaDocument } | null)?.doc;
    if (!personaId) {
      if (incoming) {
        // Keep it as the draft, and drop it from history so a reload does not overwrite edits.
        saveDraft(null, incoming);
        navigate(".", { replace: true, state: null });
        return;
      }
      const draft = loadDraft(null);
      setDoc(draft?.doc ?? blankDocument());
      setBaseline(null);
      return;
    }
    api
      .full(personaId)
      .then((full) => {
        if (!live) return;
        const saved = stripIds(full);
        const base = json(saved);
        const draft = loadDraft(personaId);
        if (draft && json(draft.doc) !== base) {
          setDoc(draft.doc);
          setRestoredAt(draft.savedAt);
        } else {
          if (draft) clearDraft(personaId);
          setDoc(saved);
        }
        setBaseline(base);
      })
      .catch((e) => live && setLoadError(errorMessage(e)));
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [personaId, location.state]);

  const current = useMemo(() => (doc ? json(doc) : ""), [doc]);
  const dirty = doc !== null && (personaId === null || current !== baseline);
  const dirtyRef = useRef(dirty);
  dirtyRef.current = dirty;

  useEffect(() => {
    if (doc) document.title = `${doc.persona.name || "Untitled"}${dirty ? " •" : ""} · Foil Studio`;
  }, [doc, dirty]);

  // ---- the draft in localStorage -------------------------------------------------------------
  useEffect(() => {
    if (!doc) return;
    const t = setTimeout(() => {
      if (dirtyRef.current) saveDraft(personaId, doc);
      else clearDraft(personaId);
    }, 250);
    return () => clearTimeout(t);
  }, [doc, personaId, current]);

  // ---- leaving with unsaved changes -------------------------------------------------------
  useEffect(() => {
    if (!dirty) return;
    const h = (e: BeforeUnloadEvent) => {
      e.preventDefault();
      e.returnValue = "";
    };
    window.addEventListener("beforeunload", h);
    return () => window.removeEventListener("beforeunload", h);
  }, [dirty]);
  const blocker = useBlocker(
    ({ currentLocation, nextLocation }) => dirtyRef.current && currentLocation.pathname !== nextLocation.pathname,
  );

  // ---- validation as you type -----------------------------------------------------------------
  useEffect(() => {
    if (!doc) return;
    const ctrl = new AbortController();
    const t = setTimeout(() => {
      setValidating(true);
      api
        .validate(stripIds(doc), ctrl.signal)
        .then((r) => {
          setIssues(r.issues);
          setWarnings(r.warnings);
        })
        .catch((e) => {
          if (!ctrl.signal.aborted && !(e instanceof DOMException)) setSaveError(`Validation failed: ${errorMessage(e)}`);
        })
        .finally(() => !ctrl.signal.aborted && setValidating(false));
    }, 500);
    return () => {
      clearTimeout(t);
      ctrl.abort();
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [current]);

  // ---- navigating to an issue -----------------------------------------------------------------
  const goTo = useCallback((target: IssueTarget) => {
    if (target.section === "settings" || target.section === "graph") {
      setSection("scenario");
      if (target.machine !== null) setMachineIndex(target.machine);
      setTab(target.section);
    } else setSection(target.section);
    setPendingFocus(target.fieldId);
  }, []);
  useEffect(() => {
    if (!pendingFocus) return;
    const el = document.getElementById(pendingFocus);
    if (el) {
      el.scrollIntoView({ block: "center" });
      (el as HTMLElement).focus();
    }
    setPendingFocus(null);
  }, [pendingFocus, section, tab, machineIndex]);

  const update = useCallback((f: (d: PersonaDocument) => PersonaDocument) => {
    setDoc((d) => (d ? f(d) : d));
    setNotice(null);
  }, []);
  const updateMachine = useCallback(
    (i: number, m: Machine) => update((d) => ({ ...d, machines: d.machines.map((x, n) => (n === i ? m : x)) })),
    [update],
  );
  const onGraphChange = useCallback((m: Machine) => updateMachine(machineIndex, m), [updateMachine, machineIndex]);
  const onLinksChange = useCallback((d: PersonaDocument) => update(() => d), [update]);

  // ---- save / publish -------------------------------------------------------------------------
  async function save() {
    if (!doc) return;
    setSaving(true);
    setSaveError(null);
    setNotice(null);
    const body = stripIds(doc);
    try {
      const saved = await api.save(body, personaId);
      setBaseline(json(doc));
      setRestoredAt(null);
      setVersion((v) => v + 1);
      if (!personaId) {
        clearDraft(null);
        dirtyRef.current = false;
        navigate(`/personas/${saved.id}`, { replace: true });
      } else {
        clearDraft(personaId);
        setNotice(`Saved at ${formatTime(new Date().toISOString())}.`);
      }
    } catch (e) {
      if (e instanceof ApiError && e.details.length) {
        setIssues(e.details);
        setShowIssues(true);
        setSaveError(`Not saved: ${e.details.length} problem${e.details.length === 1 ? "" : "s"} to fix first. Your draft is kept.`);
      } else setSaveError(`Not saved: ${errorMessage(e)}. Your draft is kept.`);
    } finally {
      setSaving(false);
    }
  }

  async function setPublished(publish: boolean) {
    if (!personaId || !doc) return;
    setPublishing(true);
    setSaveError(null);
    try {
      const s = publish ? await api.publish(personaId) : await api.unpublish(personaId);
      const apply = (d: PersonaDocument): PersonaDocument => ({ ...d, persona: { ...d.persona, is_published: s.is_published } });
      setDoc((d) => (d ? apply(d) : d));
      setBaseline((b) => (b ? json(apply(JSON.parse(b) as PersonaDocument)) : b));
      setNotice(s.is_published ? "Published: games with your API keys can now reach it." : "Unpublished: back to draft.");
    } catch (e) {
      setSaveError(errorMessage(e));
    } finally {
      setPublishing(false);
    }
  }

  const onActiveState = useCallback((machineKey: string | null, stateKey: string | null) => setActive({ machineKey, stateKey }), []);

  // ---- rendering ------------------------------------------------------------------------
  if (loadError) {
    return (
      <section className="page narrow">
        <h1>Could not open this persona</h1>
        <p className="error" role="alert">
          {loadError}
        </p>
        <Link to="/">Back to personas</Link>
      </section>
    );
  }
  if (!doc) return <p role="status" className="loading">Loading persona…</p>;

  const machines = doc.machines ?? [];
  const mi = Math.min(machineIndex, Math.max(0, machines.length - 1));
  const machine = machines[mi] as Machine | undefined;
  const machineNames = machines.map((m) => m.name || m.machine_key);
  const savedDoc = baseline ? (JSON.parse(baseline) as PersonaDocument) : doc;
  const countUnder = (prefix: string) => issuesUnder(issues, prefix).length;
  const isPublished = !!(baseline ? savedDoc.persona.is_published : false);

  return (
    <EditorContext.Provider value={{ issues, personaName: doc.persona.name }}>
      <div className={showPlaytest ? "editor with-playtest" : "editor"}>
        <div className="editor-header">
          <nav aria-label="Breadcrumb" className="breadcrumb">
            <Link to="/">Personas</Link> ›
          </nav>
          <h1 className="editor-title">{doc.persona.name || "Untitled persona"}</h1>
          {personaId ? (
            isPublished ? <span className="badge ok">Published</span> : <span className="badge">Draft</span>
          ) : (
            <span className="badge warn">Not saved yet</span>
          )}
          <span className="save-state" role="status">
            {saving ? "Saving…" : dirty ? "Unsaved changes" : "All changes saved"}
          </span>
          <div className="toolbar" role="toolbar" aria-label="Persona actions">
            <button type="button" className="primary" onClick={() => void save()} disabled={saving || !dirty}>
              Save
            </button>
            {personaId && (
              <button type="button" disabled={publishing} onClick={() => void setPublished(!isPublished)}>
                {isPublished ? "Unpublish" : "Publish"}
              </button>
            )}
            {personaId && (
              <Link className="button" to={`/personas/${personaId}/sessions`}>
                Sessions
              </Link>
            )}
            <button type="button" onClick={() => exportDocument(doc, "json")}>
              Export JSON
            </button>
            <button type="button" onClick={() => exportDocument(doc, "yaml")}>
              Export YAML
            </button>
            <button type="button" aria-pressed={showPlaytest} onClick={() => setShowPlaytest((v) => !v)}>
              Playtest
            </button>
          </div>
        </div>

        {restoredAt && (
          <p className="notice" role="status">
            Restored your unsaved changes from {formatTime(new Date(restoredAt).toISOString())}.{" "}
            <button
              type="button"
              className="link-button"
              onClick={() => {
                if (baseline) setDoc(JSON.parse(baseline) as PersonaDocument);
                clearDraft(personaId);
                setRestoredAt(null);
              }}
            >
              Discard them
            </button>
          </p>
        )}
        {saveError && (
          <p className="error" role="alert">
            {saveError}
          </p>
        )}
        {notice && (
          <p className="notice" role="status">
            {notice}
          </p>
        )}

        <div className="issues-bar">
          <button
            type="button"
            className={issues.length ? "issues-toggle has-issues" : warnings.length ? "issues-toggle has-warnings" : "issues-toggle"}
            aria-expanded={showIssues}
            aria-controls="issues-list"
            onClick={() => setShowIssues((v) => !v)}
          >
            {issues.length === 0
              ? validating
                ? "Checking…"
                : "✓ No problems"
              : `⚠ ${issues.length} problem${issues.length === 1 ? "" : "s"}`}
            {warnings.length > 0 && ` · ${warnings.length} warning${warnings.length === 1 ? "" : "s"}`}
          </button>
          {showIssues && issues.length + warnings.length > 0 && (
            <div id="issues-list">
              {[
                { label: "Problems", list: issues, className: "issue-link" },
                { label: "Warnings", list: warnings, className: "issue-link issue-warning" },
              ]
                .filter((group) => group.list.length > 0)
                .map((group) => (
                  <ul key={group.label} className="issues-list" aria-label={group.label}>
                    {group.list.map((i, n) => (
                      <li key={n}>
                        <button type="button" className={group.className} onClick={() => goTo(targetOf(i.path))}>
                          <span className="issue-where">{describePath(i.path, { machines: machineNames })}</span>
                          <span className="issue-message">{i.message}</span>
                        </button>
                      </li>
                    ))}
                  </ul>
                ))}
            </div>
          )}
        </div>

        <div className="editor-body">
          <nav className="editor-nav" aria-label="Persona sections">
            <button type="button" aria-current={section === "identity" ? "page" : undefined} onClick={() => setSection("identity")}>
              Identity <IssueCount n={countUnder("persona")} />
            </button>
            <button type="button" aria-current={section === "variables" ? "page" : undefined} onClick={() => setSection("variables")}>
              Variables <IssueCount n={countUnder("variables")} />
            </button>
            <h2 className="nav-heading">Scenarios</h2>
            <ul className="nav-list">
              {machines.map((m, i) => (
                <li key={i}>
                  <button
                    type="button"
                    aria-current={section === "scenario" && i === mi ? "page" : undefined}
                    onClick={() => {
                      setSection("scenario");
                      setMachineIndex(i);
                    }}
                  >
                    <span className="nav-scenario-name">{m.name || m.machine_key || `Scenario ${i + 1}`}</span>
                    {m.is_entry && <span className="tag">entry</span>}
                    <IssueCount n={countUnder(`machines[${i}]`)} />
                  </button>
                </li>
              ))}
            </ul>
            <button
              type="button"
              className="small"
              onClick={() => {
                update((d) => ({ ...d, machines: [...d.machines, blankMachine(d.machines.map((m) => m.machine_key))] }));
                setSection("scenario");
                setMachineIndex(machines.length);
                setTab("settings");
              }}
            >
              Add scenario
            </button>
            <h2 className="nav-heading">More</h2>
            <button type="button" aria-current={section === "links" ? "page" : undefined} onClick={() => setSection("links")}>
              Links <IssueCount n={countUnder("machine_links")} />
            </button>
            <button type="button" aria-current={section === "document" ? "page" : undefined} onClick={() => setSection("document")}>
              Document (JSON / YAML)
            </button>
          </nav>

          <div className="editor-main">
            {section === "identity" && (
              <IdentitySection persona={doc.persona} onChange={(persona) => update((d) => ({ ...d, persona }))} />
            )}
            {section === "variables" && (
              <VariablesSection variables={doc.variables ?? []} onChange={(variables) => update((d) => ({ ...d, variables }))} />
            )}
            {section === "scenario" && !machine && (
              <div className="empty">
                <p>This persona has no scenario yet.</p>
              </div>
            )}
            {section === "scenario" && machine && (
              <section className="section scenario" aria-labelledby="scenario-title">
                <div className="scenario-header">
                  <h2 id="scenario-title">{machine.name || machine.machine_key}</h2>
                  <code className="muted">{machine.machine_key}</code>
                  <div role="tablist" aria-label="Scenario views" className="tabs">
                    <button type="button" role="tab" id="tab-graph" aria-controls="panel-scenario" aria-selected={tab === "graph"} onClick={() => setTab("graph")}>
                      Graph
                    </button>
                    <button type="button" role="tab" id="tab-settings" aria-controls="panel-scenario" aria-selected={tab === "settings"} onClick={() => setTab("settings")}>
                      Settings <IssueCount n={issuesUnder(issues, `machines[${mi}]`).filter((i) => targetOf(i.path).section === "settings").length} />
                    </button>
                  </div>
                  <button type="button" className="small danger-ghost" onClick={() => setConfirmRemove(mi)}>
                    Remove scenario
                  </button>
                </div>
                <div role="tabpanel" id="panel-scenario" aria-labelledby={tab === "graph" ? "tab-graph" : "tab-settings"} className="tabpanel">
                  {tab === "graph" ? (
                    <div className="graph-host">
                      <MachineGraph
                        key={mi}
                        machine={machine}
                        machineIndex={mi}
                        issues={issues}
                        activeStateKey={active.machineKey === machine.machine_key ? active.stateKey : null}
                        onChange={onGraphChange}
                      />
                    </div>
                  ) : (
                    <ScenarioSettings
                      machine={machine}
                      index={mi}
                      onChange={(m) => updateMachine(mi, m)}
                      onRenameKey={(_old, next) => update((d) => renameMachineKey(d, mi, next))}
                    />
                  )}
                </div>
              </section>
            )}
            {section === "links" && (
              <section className="section links" aria-labelledby="links-title">
                <h2 id="links-title">Links between scenarios</h2>
                <p className="subtitle">When a scenario ends, a link can unlock (or automatically start) another one.</p>
                <div className="graph-host">
                  <LinksGraph document={doc} issues={issues} onChange={onLinksChange} />
                </div>
              </section>
            )}
            {section === "document" && <DocumentSection doc={doc} onApply={(d) => update(() => d)} />}
          </div>

          {showPlaytest && (
            <Playtest
              personaId={personaId}
              dirty={dirty}
              doc={savedDoc}
              version={version}
              preferredMachineKey={machine?.machine_key ?? null}
              onActiveState={onActiveState}
            />
          )}
        </div>
      </div>

      {confirmRemove !== null && machines[confirmRemove] && (
        <ConfirmDialog
          title="Remove scenario?"
          message={
            <p>
              “<strong>{machines[confirmRemove].name}</strong>” and its states, transitions and links will be removed from
              the draft (nothing is stored until you save).
            </p>
          }
          confirmLabel="Remove"
          danger
          onCancel={() => setConfirmRemove(null)}
          onConfirm={() => {
            const i = confirmRemove;
            update((d) => removeMachine(d, i));
            setMachineIndex(Math.max(0, i - 1));
            setConfirmRemove(null);
          }}
        />
      )}
      {blocker.state === "blocked" && (
        <ConfirmDialog
          title="Leave without saving?"
          message={<p>Your changes are not saved to the server yet. They stay as a draft in this browser.</p>}
          confirmLabel="Leave"
          onCancel={() => blocker.reset()}
          onConfirm={() => blocker.proceed()}
        />
      )}
    </EditorContext.Provider>
  );
}

function IssueCount(props: { n: number }) {
  if (!props.n) return null;
  return (
    <span className="issue-count" aria-label={`${props.n} problem${props.n === 1 ? "" : "s"}`}>
      {props.n}
    </span>
  );
}
