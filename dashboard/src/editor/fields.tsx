// Form fields that show the validation issues at their document path, and a Polish button on
// long texts.
import { useId, useState, type ReactNode } from "react";
import { api } from "../api";
import { errorMessage } from "../api/errors";
import { useLlm } from "../components/llm";
import { fieldId, issuesAt } from "../lib/issues";
import { useEditor } from "./context";

export function FieldIssues(props: { path: string; id?: string }) {
  const { issues } = useEditor();
  const mine = issuesAt(issues, props.path);
  if (mine.length === 0) return null;
  return (
    <ul className="field-issues" id={props.id}>
      {mine.map((i, n) => (
        <li key={n}>{i.message}</li>
      ))}
    </ul>
  );
}

function useFieldIssues(path: string) {
  const { issues } = useEditor();
  const count = issuesAt(issues, path).length;
  const errId = `${fieldId(path)}-issues`;
  return { invalid: count > 0, errId };
}

interface BaseProps {
  path: string;
  label: string;
  hint?: ReactNode;
}

export function TextField(
  props: BaseProps & {
    value: string | null | undefined;
    onChange: (v: string) => void;
    required?: boolean;
    maxLength?: number;
    mono?: boolean;
    placeholder?: string;
  },
) {
  const { invalid, errId } = useFieldIssues(props.path);
  const id = fieldId(props.path);
  const hintId = useId();
  return (
    <div className={invalid ? "field invalid" : "field"}>
      <label htmlFor={id}>
        {props.label}
        {props.required && <span aria-hidden="true"> *</span>}
      </label>
      <input
        id={id}
        className={props.mono ? "mono" : undefined}
        value={props.value ?? ""}
        maxLength={props.maxLength}
        placeholder={props.placeholder}
        aria-invalid={invalid || undefined}
        aria-describedby={[invalid ? errId : null, props.hint ? hintId : null].filter(Boolean).join(" ") || undefined}
        onChange={(e) => props.onChange(e.target.value)}
      />
      {props.hint && (
        <p className="hint" id={hintId}>
          {props.hint}
        </p>
      )}
      <FieldIssues path={props.path} id={errId} />
    </div>
  );
}

export function NumberField(
  props: BaseProps & { value: number | null | undefined; onChange: (v: number | null) => void; step?: number },
) {
  const { invalid, errId } = useFieldIssues(props.path);
  const id = fieldId(props.path);
  const [text, setText] = useState<string | null>(null);
  const shown = text ?? (props.value === null || props.value === undefined ? "" : String(props.value));
  return (
    <div className={invalid ? "field invalid" : "field"}>
      <label htmlFor={id}>{props.label}</label>
      <input
        id={id}
        type="number"
        step={props.step ?? 1}
        value={shown}
        aria-invalid={invalid || undefined}
        aria-describedby={invalid ? errId : undefined}
        onChange={(e) => {
          setText(e.target.value);
          const v = e.target.value.trim();
          if (v === "") props.onChange(null);
          else if (Number.isFinite(Number(v))) props.onChange(Number(v));
        }}
        onBlur={() => setText(null)}
      />
      {props.hint && <p className="hint">{props.hint}</p>}
      <FieldIssues path={props.path} id={errId} />
    </div>
  );
}

export function CheckboxField(props: BaseProps & { checked: boolean; onChange: (v: boolean) => void }) {
  const { invalid, errId } = useFieldIssues(props.path);
  const id = fieldId(props.path);
  return (
    <div className={invalid ? "field checkbox invalid" : "field checkbox"}>
      <input
        id={id}
        type="checkbox"
        checked={props.checked}
        aria-invalid={invalid || undefined}
        aria-describedby={invalid ? errId : undefined}
        onChange={(e) => props.onChange(e.target.checked)}
      />
      <label htmlFor={id}>{props.label}</label>
      {props.hint && <p className="hint">{props.hint}</p>}
      <FieldIssues path={props.path} id={errId} />
    </div>
  );
}

export function SelectField<T extends string>(
  props: BaseProps & { value: T; options: { value: T; label: string }[]; onChange: (v: T) => void },
) {
  const { invalid, errId } = useFieldIssues(props.path);
  const id = fieldId(props.path);
  return (
    <div className={invalid ? "field invalid" : "field"}>
      <label htmlFor={id}>{props.label}</label>
      <select
        id={id}
        value={props.value}
        aria-invalid={invalid || undefined}
        aria-describedby={invalid ? errId : undefined}
        onChange={(e) => props.onChange(e.target.value as T)}
      >
        {props.options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
      {props.hint && <p className="hint">{props.hint}</p>}
      <FieldIssues path={props.path} id={errId} />
    </div>
  );
}

/** A long text with a "Polish" button (creator/polish) that rewrites it; the rewrite can be undone. */
export function TextAreaField(
  props: BaseProps & {
    value: string | null | undefined;
    onChange: (v: string) => void;
    rows?: number;
    required?: boolean;
    /** The `field` sent to creator/polish (defaults to the path's last segment). */
    polishField?: string;
    noPolish?: boolean;
    placeholder?: string;
  },
) {
  const { invalid, errId } = useFieldIssues(props.path);
  const { personaName } = useEditor();
  const { choice } = useLlm();
  const id = fieldId(props.path);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [undo, setUndo] = useState<string | null>(null);
  const text = props.value ?? "";
  const field = props.polishField ?? props.path.replace(/.*\./, "");

  async function polish() {
    setBusy(true);
    setError(null);
    try {
      const r = await api.polish(text, field, personaName ? `Persona: ${personaName}` : undefined, choice);
      setUndo(text);
      props.onChange(r.text);
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className={invalid ? "field invalid" : "field"}>
      <div className="field-label-row">
        <label htmlFor={id}>
          {props.label}
          {props.required && <span aria-hidden="true"> *</span>}
        </label>
        {!props.noPolish && (
          <span className="polish">
            {undo !== null && (
              <button
                type="button"
                className="small ghost"
                aria-label={`Undo polish of ${props.label}`}
                onClick={() => {
                  props.onChange(undo);
                  setUndo(null);
                }}
              >
                Undo
              </button>
            )}
            <button
              type="button"
              className="small ghost polish-button"
              aria-label={`Polish ${props.label}`}
              disabled={busy || !text.trim()}
              onClick={polish}
            >
              {busy ? "Polishing…" : "Polish"}
            </button>
          </span>
        )}
      </div>
      <textarea
        id={id}
        rows={props.rows ?? 4}
        value={text}
        placeholder={props.placeholder}
        aria-invalid={invalid || undefined}
        aria-describedby={invalid ? errId : undefined}
        onChange={(e) => {
          setUndo(null);
          props.onChange(e.target.value);
        }}
      />
      {props.hint && <p className="hint">{props.hint}</p>}
      {error && (
        <p className="error small-text" role="alert">
          Polish failed: {error}
        </p>
      )}
      <FieldIssues path={props.path} id={errId} />
    </div>
  );
}
