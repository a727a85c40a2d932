import { useCallback, useEffect, useId, useState, type ChangeEvent } from "react";
import { Link, useNavigate } from "react-router";
import { api } from "../api";
import { errorMessage } from "../api/errors";
import type { PersonaDocument, PersonaSummary } from "../api/types";
import { ConfirmDialog, Dialog } from "../components/Dialog";
import { relativeTime, formatTime } from "../components/format";
import { ModelPicker, useLlm } from "../components/llm";
import { blankDocument, detectFormat, duplicateDocument, exportDocument, parseDocument, stripIds, type DocFormat } from "../lib/document";
import { examples } from "../lib/examples";

/** A fresh, unsaved document for the editor: no ids, not published. */
function asNewDraft(doc: PersonaDocument): PersonaDocument {
  const d = stripIds(doc);
  d.persona = { ...d.persona, is_published: false, is_public: false };
  return d;
}

export function PersonasPage() {
  const navigate = useNavigate();
  const [personas, setPersonas] = useState<PersonaSummary[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [dialog, setDialog] = useState<null | "example" | "generate">(null);
  const [toDelete, setToDelete] = useState<PersonaSummary | null>(null);
  const [busyId, setBusyId] = useState<string | null>(null);
  const [importError, setImportError] = useState<string | null>(null);
  const importId = useId();

  const refresh = useCallback(async () => {
    try {
      setPersonas(await api.myPersonas(100, 0));
      setError(null);
    } catch (e) {
      setError(errorMessage(e));
    }
  }, []);

  useEffect(() => {
    document.title = "Personas · Foil Studio";
    void refresh();
  }, [refresh]);

  const openDraft = (doc: PersonaDocument) => navigate("/personas/new", { state: { doc: asNewDraft(doc) } });

  async function onImport(e: ChangeEvent<HTMLInputElement>) {
    const file = e.target.files?.[0];
    e.target.value = "";
    if (!file) return;
    setImportError(null);
    try {
      const text = await file.text();
      const doc = parseDocument(text, detectFormat(text, file.name));
      navigate("/personas/new", { state: { doc: stripIds(doc) } });
    } catch (err) {
      setImportError(`Could not import ${file.name}: ${errorMessage(err)}`);
    }
  }

  async function rowAction(p: PersonaSummary, what: () => Promise<void>) {
    setBusyId(p.id);
    setError(null);
    setNotice(null);
    try {
      await what();
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusyId(null);
    }
  }

  const exportAs = (p: PersonaSummary, format: DocFormat) =>
    rowAction(p, async () => exportDocument(await api.full(p.id), format));

  const duplicate = (p: PersonaSummary) =>
    rowAction(p, async () => {
      const copy = await api.save(duplicateDocument(await api.full(p.id)));
      setNotice(`Created “${copy.name}”.`);
      await refresh();
    });

  const togglePublish = (p: PersonaSummary) =>
    rowAction(p, async () => {
      const s = p.is_published ? await api.unpublish(p.id) : await api.publish(p.id);
      setPersonas((list) => list?.map((x) => (x.id === s.id ? s : x)) ?? null);
    });

  return (
    <section className="page">
      <div className="page-header">
        <div>
          <h1>Personas</h1>
          <p className="subtitle">Your NPCs: drafts and published ones.</p>
        </div>
        <div className="toolbar" role="toolbar" aria-label="Create a persona">
          <button type="button" className="primary" onClick={() => openDraft(blankDocument())}>
            New blank
          </button>
          <button type="button" onClick={() => setDialog("example")}>
            From example
          </button>
          <button type="button" onClick={() => setDialog("generate")}>
            Generate with AI
          </button>
          <label className="button file-button" htmlFor={importId}>
            Import file
            <input
              id={importId}
              className="visually-hidden"
              type="file"
              accept=".json,.yaml,.yml,application/json,application/yaml,text/yaml"
              onChange={onImport}
            />
          </label>
        </div>
      </div>
      {importError && (
        <p className="error" role="alert">
          {importError}
        </p>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      {personas === null && !error && <p role="status">Loading…</p>}
      {personas && personas.length === 0 && (
        <div className="empty">
          <h2>No personas yet</h2>
          <p>Start from one of the examples, describe an NPC to the AI, or begin with a blank page.</p>
        </div>
      )}
      {personas && personas.length > 0 && (
        <table className="table personas-table">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Status</th>
              <th scope="col">Last change</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {personas.map((p) => (
              <tr key={p.id} aria-busy={busyId === p.id}>
                <td>
                  <Link to={`/personas/${p.id}`} className="persona-name">
                    {p.name}
                  </Link>
                  {p.description && <div className="muted clamp">{p.description}</div>}
                </td>
                <td>
                  {p.is_published ? <span className="badge ok">Published</span> : <span className="badge">Draft</span>}
                  {p.is_public && <span className="badge info">Public</span>}
                </td>
                <td>
                  <time dateTime={p.updated_at} title={formatTime(p.updated_at)}>
                    {relativeTime(p.updated_at)}
                  </time>
                </td>
                <td className="row-actions">
                  <Link to={`/personas/${p.id}`} className="button small">
                    Edit
                  </Link>
                  <Link to={`/personas/${p.id}/sessions`} className="button small">
                    Sessions
                  </Link>
                  <button type="button" className="small" disabled={busyId === p.id} onClick={() => togglePublish(p)}>
                    {p.is_published ? "Unpublish" : "Publish"}
                  </button>
                  <button type="button" className="small" disabled={busyId === p.id} onClick={() => exportAs(p, "json")}>
                    Export JSON
                  </button>
                  <button type="button" className="small" disabled={busyId === p.id} onClick={() => exportAs(p, "yaml")}>
                    Export YAML
                  </button>
                  <button type="button" className="small" disabled={busyId === p.id} onClick={() => duplicate(p)}>
                    Duplicate
                  </button>
                  <button type="button" className="small danger-ghost" disabled={busyId === p.id} onClick={() => setToDelete(p)}>
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {dialog === "example" && <ExampleDialog onClose={() => setDialog(null)} onPick={openDraft} />}
      {dialog === "generate" && <GenerateDialog onClose={() => setDialog(null)} onDone={openDraft} />}
      {toDelete && (
        <ConfirmDialog
          title="Delete persona?"
          message={
            <>
              <p>
                “<strong>{toDelete.name}</strong>” and all of its scenarios, sessions and messages will be
                deleted. This cannot be undone.
              </p>
            </>
          }
          confirmLabel="Delete"
          danger
          busy={busyId === toDelete.id}
          onCancel={() => setToDelete(null)}
          onConfirm={() => {
            const p = toDelete;
            void rowAction(p, async () => {
              await api.remove(p.id);
              setToDelete(null);
              setPersonas((list) => list?.filter((x) => x.id !== p.id) ?? null);
              setNotice(`Deleted “${p.name}”.`);
            });
          }}
        />
      )}
    </section>
  );
}

function ExampleDialog(props: { onClose: () => void; onPick: (d: PersonaDocument) => void }) {
  const [docs, setDocs] = useState<{ file: string; doc: PersonaDocument }[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    Promise.all(examples.map(async (e) => ({ file: e.file, doc: await e.load() })))
      .then(setDocs)
      .catch((e) => setError(errorMessage(e)));
  }, []);
  return (
    <Dialog title="Start from an example" onClose={props.onClose} wide>
      {error && <p className="error" role="alert">{error}</p>}
      {!docs && !error && <p role="status">Loading examples…</p>}
      {docs && (
        <ul className="example-list">
          {docs.map(({ file, doc }) => (
            <li key={file}>
              <button type="button" className="example-card" onClick={() => props.onPick(doc)}>
                <strong>{doc.persona.name}</strong>
                <span className="muted clamp">{doc.persona.description}</span>
                <span className="meta">
                  {doc.machines.length} scenario{doc.machines.length === 1 ? "" : "s"} · {file}
                </span>
              </button>
            </li>
          ))}
        </ul>
      )}
    </Dialog>
  );
}

function GenerateDialog(props: { onClose: () => void; onDone: (d: PersonaDocument) => void }) {
  const { choice } = useLlm();
  const [brief, setBrief] = useState("");
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const id = useId();
  async function generate() {
    setError(null);
    try {
      setBusy("Writing the persona…");
      const persona = await api.generatePersona(brief.trim(), choice);
      setBusy("Designing a scenario…");
      const machine = await api.generateMachine({ identity: `${persona.name}: ${persona.description}\n\n${persona.identity_prompt}`, brief: brief.trim() }, choice);
      props.onDone({
        persona: {
          name: persona.name,
          description: persona.description,
          identity_prompt: persona.identity_prompt,
          is_public: false,
          is_published: false,
        },
        variables: [],
        machines: [{ ...machine, is_entry: true }],
        machine_links: [],
      });
    } catch (e) {
      setError(errorMessage(e));
      setBusy(null);
    }
  }
  return (
    <Dialog title="Generate a persona with AI" onClose={props.onClose} wide>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void generate();
        }}
        className="stack"
      >
        <label htmlFor={`${id}-brief`}>Brief</label>
        <textarea
          id={`${id}-brief`}
          rows={4}
          required
          value={brief}
          placeholder="A blacksmith in a mountain village who only forges blades for people with a good reason…"
          onChange={(e) => setBrief(e.target.value)}
        />
        <ModelPicker />
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        {busy && (
          <p role="status" className="notice">
            {busy}
          </p>
        )}
        <div className="dialog-actions">
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={!!busy || !brief.trim()}>
            Generate
          </button>
        </div>
      </form>
    </Dialog>
  );
}
