import { useEffect, useId, useRef, useState } from "react";
import type { PersonaDocument } from "../api/types";
import { DocumentParseError, parseDocument, serializeDocument, type DocFormat } from "../lib/document";
import { useEditor } from "./context";

/** The raw document as JSON or YAML; edits are applied back to the editor (and the graph). */
export function DocumentSection(props: { doc: PersonaDocument; onApply: (d: PersonaDocument) => void }) {
  const [format, setFormat] = useState<DocFormat>("yaml");
  const [text, setText] = useState(() => serializeDocument(props.doc, "yaml"));
  const [edited, setEdited] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [applied, setApplied] = useState(false);
  const { issues } = useEditor();
  const id = useId();
  const lastDoc = useRef(props.doc);

  // Follow changes made elsewhere while the text is not being edited.
  useEffect(() => {
    if (!edited && lastDoc.current !== props.doc) {
      setText(serializeDocument(props.doc, format));
    }
    lastDoc.current = props.doc;
  }, [props.doc, edited, format]);

  function switchFormat(f: DocFormat) {
    if (f === format) return;
    if (edited) {
      try {
        const d = parseDocument(text, format);
        setText(serializeDocument(d, f));
      } catch {
        setText(serializeDocument(props.doc, f));
        setEdited(false);
      }
    } else setText(serializeDocument(props.doc, f));
    setFormat(f);
    setError(null);
  }

  function apply() {
    try {
      const d = parseDocument(text, format);
      props.onApply(d);
      setEdited(false);
      setError(null);
      setApplied(true);
    } catch (e) {
      setApplied(false);
      setError(e instanceof DocumentParseError ? `${e.message}${e.line ? ` (line ${e.line})` : ""}` : String(e));
    }
  }

  return (
    <section className="section document-section" aria-labelledby="doc-title">
      <h2 id="doc-title">Document</h2>
      <p className="subtitle">The whole persona as one file. Edit it here and apply; the forms and the graph follow.</p>
      <div className="doc-toolbar">
        <div className="segmented" role="group" aria-label="Format">
          <button type="button" aria-pressed={format === "json"} onClick={() => switchFormat("json")}>
            JSON
          </button>
          <button type="button" aria-pressed={format === "yaml"} onClick={() => switchFormat("yaml")}>
            YAML
          </button>
        </div>
        <button type="button" className="primary" disabled={!edited} onClick={apply}>
          Apply changes
        </button>
        <button
          type="button"
          disabled={!edited}
          onClick={() => {
            setText(serializeDocument(props.doc, format));
            setEdited(false);
            setError(null);
          }}
        >
          Revert text
        </button>
      </div>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {applied && !edited && !error && (
        <p className="notice" role="status">
          Applied{issues.length ? ` — ${issues.length} problem${issues.length === 1 ? "" : "s"} found, see the list above` : ""}.
        </p>
      )}
      <label htmlFor={`${id}-text`} className="visually-hidden">
        Document text
      </label>
      <textarea
        id={`${id}-text`}
        className="mono doc-text"
        spellCheck={false}
        value={text}
        onChange={(e) => {
          setText(e.target.value);
          setEdited(true);
          setApplied(false);
        }}
      />
    </section>
  );
}
