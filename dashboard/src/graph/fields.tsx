// Small labelled form fields for the inspectors, each showing the validation issues of its path.

import { useEffect, useId, useState, type ReactNode } from "react";
import type { FieldIssue } from "./mapping";

function IssueList({ id, issues }: { id: string; issues: FieldIssue[] }) {
  if (issues.length === 0) return null;
  return (
    <div className="fg-field__issues" id={id} role="alert">
      {issues.map((i, n) => (
        <p key={n}>{i.message}</p>
      ))}
    </div>
  );
}

interface FieldShell {
  label: string;
  issues?: FieldIssue[];
  hint?: ReactNode;
}

function Shell({
  id,
  label,
  issues,
  hint,
  children,
  inline,
}: FieldShell & { id: string; children: ReactNode; inline?: boolean }) {
  const list = issues ?? [];
  return (
    <div className={`fg-field${inline ? " fg-field--inline" : ""}${list.length ? " fg-field--invalid" : ""}`}>
      {inline ? (
        <>
          {children}
          <label htmlFor={id}>{label}</label>
        </>
      ) : (
        <>
          <label htmlFor={id}>{label}</label>
          {children}
        </>
      )}
      {hint && <div className="fg-field__hint">{hint}</div>}
      <IssueList id={`${id}-issues`} issues={list} />
    </div>
  );
}

function a11y(id: string, issues?: FieldIssue[]) {
  const bad = !!issues && issues.length > 0;
  return { id, "aria-invalid": bad || undefined, "aria-describedby": bad ? `${id}-issues` : undefined };
}

export function TextField(
  props: FieldShell & { value: string; onChange: (v: string) => void; placeholder?: string; mono?: boolean },
) {
  const id = useId();
  return (
    <Shell id={id} {...props}>
      <input
        type="text"
        {...a11y(id, props.issues)}
        className={props.mono ? "fg-mono" : undefined}
        value={props.value}
        placeholder={props.placeholder}
        onChange={(e) => props.onChange(e.target.value)}
      />
    </Shell>
  );
}

/** A text input committed on blur or Enter (for keys, where every keystroke would rename). */
export function CommitTextField(
  props: FieldShell & { value: string; onCommit: (v: string) => string | null; mono?: boolean },
) {
  const id = useId();
  const [text, setText] = useState(props.value);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    setText(props.value);
    setError(null);
  }, [props.value]);
  const commit = () => {
    if (text === props.value) return;
    const problem = props.onCommit(text);
    setError(problem);
  };
  const issues = error ? [...(props.issues ?? []), { path: "", message: error }] : props.issues;
  return (
    <Shell id={id} {...props} issues={issues}>
      <input
        type="text"
        {...a11y(id, issues)}
        className={props.mono ? "fg-mono" : undefined}
        value={text}
        onChange={(e) => setText(e.target.value)}
        onBlur={commit}
        onKeyDown={(e) => {
          if (e.key === "Enter") {
            e.preventDefault();
            commit();
          } else if (e.key === "Escape") {
            setText(props.value);
            setError(null);
          }
        }}
      />
    </Shell>
  );
}

export function TextArea(
  props: FieldShell & { value: string; onChange: (v: string) => void; rows?: number; placeholder?: string },
) {
  const id = useId();
  return (
    <Shell id={id} {...props}>
      <textarea
        {...a11y(id, props.issues)}
        rows={props.rows ?? 4}
        value={props.value}
        placeholder={props.placeholder}
        onChange={(e) => props.onChange(e.target.value)}
      />
    </Shell>
  );
}

/** An integer input that lets the creator type freely ("-", "") and commits valid integers. */
export function IntField(
  props: FieldShell & { value: number | null | undefined; onChange: (v: number | null) => void; allowEmpty?: boolean },
) {
  const id = useId();
  const shown = props.value === null || props.value === undefined ? "" : String(props.value);
  const [text, setText] = useState(shown);
  useEffect(() => {
    setText((t) => (parse(t) === (props.value ?? null) ? t : shown));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [props.value]);
  function parse(t: string): number | null | undefined {
    const s = t.trim();
    if (s === "") return null;
    return /^[-+]?\d+$/.test(s) ? Number(s) : undefined;
  }
  return (
    <Shell id={id} {...props}>
      <input
        type="text"
        inputMode="numeric"
        {...a11y(id, props.issues)}
        value={text}
        onChange={(e) => {
          setText(e.target.value);
          const v = parse(e.target.value);
          if (v === undefined) return;
          if (v === null) props.onChange(props.allowEmpty ? null : 0);
          else props.onChange(v);
        }}
        onBlur={() => setText(shown)}
      />
    </Shell>
  );
}

export function SelectField(
  props: FieldShell & {
    value: string;
    onChange: (v: string) => void;
    options: { value: string; label: string }[];
  },
) {
  const id = useId();
  return (
    <Shell id={id} {...props}>
      <select {...a11y(id, props.issues)} value={props.value} onChange={(e) => props.onChange(e.target.value)}>
        {props.options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </Shell>
  );
}

export function CheckboxField(props: FieldShell & { checked: boolean; onChange: (v: boolean) => void }) {
  const id = useId();
  return (
    <Shell id={id} {...props} inline>
      <input
        type="checkbox"
        {...a11y(id, props.issues)}
        checked={props.checked}
        onChange={(e) => props.onChange(e.target.checked)}
      />
    </Shell>
  );
}

/** Issues about a whole element (no field), shown at the top of an inspector. */
export function ElementIssues({ issues, label }: { issues: FieldIssue[]; label: string }) {
  if (issues.length === 0) return null;
  return (
    <ul className="fg-inspector__issues" aria-label={label}>
      {issues.map((i, n) => (
        <li key={n}>
          {i.field ? <code>{i.field}</code> : null} {i.message}
        </li>
      ))}
    </ul>
  );
}
