import { useEffect, useId, useState } from "react";
import type { DecisionType, Machine, Outcome, State, Transition } from "../api/types";
import {
  DECISION_LABELS,
  DECISION_TYPES,
  OUTCOMES,
  issuesForField,
  transitionLabel,
  type FieldIssue,
  type MachineIssues,
} from "./mapping";
import { CheckboxField, CommitTextField, ElementIssues, IntField, SelectField, TextArea, TextField } from "./fields";

export type Selection = { kind: "state"; key: string } | { kind: "transition"; index: number } | null;

interface StateInspectorProps {
  machine: Machine;
  state: State;
  index: number;
  issues: FieldIssue[];
  onPatch: (patch: Partial<State>) => void;
  /** Returns an error message when the key cannot be used. */
  onRename: (to: string) => string | null;
  onDelete: () => void;
  onConnect: (to: string) => void;
  onSelect: (sel: Selection) => void;
}

export function StateInspector(p: StateInspectorProps) {
  const { state, machine, issues } = p;
  const f = (field: string) => issuesForField(issues, field);
  const passFail = (machine.scoring_mode ?? "scoring") === "pass_fail";
  const outgoing = machine.transitions
    .map((t, k) => ({ t, k }))
    .filter(({ t }) => t.from_state_key === state.state_key);
  const fieldless = issues.filter((i) => !i.field);
  return (
    <div className="fg-inspector__body">
      <h3 className="fg-inspector__title">
        State <code>{state.state_key}</code>
      </h3>
      <ElementIssues issues={fieldless} label="Problems in this state" />
      <CommitTextField
        label="State key"
        value={state.state_key}
        onCommit={p.onRename}
        issues={f("state_key")}
        mono
        hint="Press Enter to rename; transitions follow."
      />
      <TextField label="Label" value={state.label ?? ""} onChange={(v) => p.onPatch({ label: v })} issues={f("label")} />
      <TextArea
        label="Prompt instruction"
        value={state.prompt_instruction ?? ""}
        rows={5}
        onChange={(v) => p.onPatch({ prompt_instruction: v })}
        issues={f("prompt_instruction")}
      />
      <div className="fg-field-row">
        <CheckboxField
          label="Initial state"
          checked={!!state.is_initial_state}
          onChange={(v) => p.onPatch({ is_initial_state: v })}
          issues={f("is_initial_state")}
        />
        <CheckboxField
          label="Terminal state"
          checked={!!state.is_terminal_state}
          onChange={(v) =>
            p.onPatch(v ? { is_terminal_state: true } : { is_terminal_state: false, terminal_outcome: null })
          }
          issues={f("is_terminal_state")}
        />
      </div>
      {(passFail || state.terminal_outcome) && (
        <SelectField
          label="Terminal outcome"
          value={state.terminal_outcome ?? ""}
          onChange={(v) => p.onPatch({ terminal_outcome: v ? (v as Outcome) : null })}
          options={[{ value: "", label: "Default (ACCEPT)" }, ...OUTCOMES.map((o) => ({ value: o, label: o }))]}
          issues={f("terminal_outcome")}
          hint={!state.is_terminal_state ? "Only terminal states carry an outcome." : undefined}
        />
      )}
      <TextArea
        label="Follow-up condition"
        rows={2}
        value={state.follow_up_condition ?? ""}
        placeholder="e.g. the player's order is ambiguous"
        onChange={(v) => p.onPatch({ follow_up_condition: v === "" ? null : v })}
        issues={f("follow_up_condition")}
      />
      <IntField
        label="Display order"
        value={state.display_order}
        allowEmpty
        onChange={(v) => p.onPatch({ display_order: v })}
        issues={f("display_order")}
      />

      <AddTransitionForm machine={machine} from={state.state_key} onConnect={p.onConnect} />

      {outgoing.length > 0 && (
        <div className="fg-outgoing">
          <h4>Outgoing transitions</h4>
          <ul>
            {outgoing.map(({ t, k }) => (
              <li key={k}>
                <button
                  type="button"
                  className={`fg-link-button fg-decision--${t.decision_type}`}
                  onClick={() => p.onSelect({ kind: "transition", index: k })}
                  aria-label={`Edit transition ${k} to ${t.to_state_key} (${transitionLabel(t)})`}
                >
                  → <code>{t.to_state_key}</code> <span className="fg-muted">{transitionLabel(t)}</span>
                </button>
              </li>
            ))}
          </ul>
        </div>
      )}

      <div className="fg-inspector__actions">
        <button type="button" className="fg-button fg-button--danger" onClick={p.onDelete}>
          Delete state
        </button>
      </div>
    </div>
  );
}

function AddTransitionForm({ machine, from, onConnect }: { machine: Machine; from: string; onConnect: (to: string) => void }) {
  const id = useId();
  const keys = machine.states.map((s) => s.state_key);
  const [to, setTo] = useState(() => keys.find((k) => k !== from) ?? from);
  useEffect(() => {
    if (!keys.includes(to)) setTo(keys.find((k) => k !== from) ?? from);
  }, [keys.join("\u0000"), from]); // eslint-disable-line react-hooks/exhaustive-deps
  return (
    <form
      className="fg-add-transition"
      aria-label="Add transition"
      onSubmit={(e) => {
        e.preventDefault();
        onConnect(to);
      }}
    >
      <label htmlFor={id}>To state</label>
      <div className="fg-add-transition__row">
        <select id={id} value={to} onChange={(e) => setTo(e.target.value)}>
          {keys.map((k) => (
            <option key={k} value={k}>
              {k === from ? `${k} (itself)` : k}
            </option>
          ))}
        </select>
        <button type="submit" className="fg-button">
          Add transition
        </button>
      </div>
    </form>
  );
}

interface TransitionInspectorProps {
  machine: Machine;
  transition: Transition;
  index: number;
  issues: FieldIssue[];
  onPatch: (patch: Partial<Transition>) => void;
  onDelete: () => void;
  onSelect: (sel: Selection) => void;
}

export function TransitionInspector(p: TransitionInspectorProps) {
  const { transition: t, machine, issues, index } = p;
  const f = (field: string) => issuesForField(issues, field);
  const keys = machine.states.map((s) => s.state_key);
  const options = (current: string) => {
    const list = keys.map((k) => ({ value: k, label: k }));
    if (!keys.includes(current)) list.unshift({ value: current, label: `${current || "(empty)"} — missing` });
    return list;
  };
  const fieldless = issues.filter((i) => !i.field);
  return (
    <div className="fg-inspector__body">
      <h3 className="fg-inspector__title">
        Transition {index}: <code>{t.from_state_key}</code> → <code>{t.to_state_key}</code>
      </h3>
      <ElementIssues issues={fieldless} label="Problems in this transition" />
      <div className="fg-field-row">
        <SelectField
          label="From"
          value={t.from_state_key}
          options={options(t.from_state_key)}
          onChange={(v) => p.onPatch({ from_state_key: v })}
          issues={f("from_state_key")}
        />
        <SelectField
          label="To"
          value={t.to_state_key}
          options={options(t.to_state_key)}
          onChange={(v) => p.onPatch({ to_state_key: v })}
          issues={f("to_state_key")}
        />
      </div>
      <SelectField
        label="Decision type"
        value={t.decision_type}
        options={DECISION_TYPES.map((d) => ({ value: d, label: DECISION_LABELS[d] }))}
        onChange={(v) => p.onPatch({ decision_type: v as DecisionType })}
        issues={f("decision_type")}
      />
      <TextArea
        label="Condition"
        rows={4}
        value={t.condition ?? ""}
        placeholder="e.g. the player orders politely"
        onChange={(v) => p.onPatch({ condition: v })}
        issues={f("condition")}
      />
      <div className="fg-field-row">
        <IntField label="Score delta" value={t.score_delta ?? 0} onChange={(v) => p.onPatch({ score_delta: v ?? 0 })} issues={f("score_delta")} />
        <IntField
          label="Priority"
          value={t.priority ?? 0}
          onChange={(v) => p.onPatch({ priority: v ?? 0 })}
          issues={f("priority")}
          hint="Lower is considered first."
        />
      </div>
      <div className="fg-inspector__actions">
        <button
          type="button"
          className="fg-button"
          onClick={() => p.onSelect({ kind: "state", key: t.from_state_key })}
          disabled={!keys.includes(t.from_state_key)}
        >
          Select source state
        </button>
        <button type="button" className="fg-button fg-button--danger" onClick={p.onDelete}>
          Delete transition
        </button>
      </div>
    </div>
  );
}

export function MachineProblems({ issues }: { issues: MachineIssues["machine"] }) {
  if (issues.length === 0) return null;
  return (
    <ul className="fg-problems" aria-label="Machine problems">
      {issues.map((i, n) => (
        <li key={n}>
          <strong>{i.field ?? "machine"}:</strong> {i.message}
        </li>
      ))}
    </ul>
  );
}
