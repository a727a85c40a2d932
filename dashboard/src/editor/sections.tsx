import type { Machine, OutputVariable, PersonaDocument, PersonaIdentity, PersonaVariable, ScoringMode } from "../api/types";
import { CheckboxField, FieldIssues, NumberField, SelectField, TextAreaField, TextField } from "./fields";

export function IdentitySection(props: { persona: PersonaIdentity; onChange: (p: PersonaIdentity) => void }) {
  const p = props.persona;
  const set = (patch: Partial<PersonaIdentity>) => props.onChange({ ...p, ...patch });
  return (
    <section className="section" aria-labelledby="identity-title">
      <h2 id="identity-title">Identity</h2>
      <p className="subtitle">Who your NPC is: the identity prompt is used in every reply.</p>
      <FieldIssues path="persona" />
      <TextField path="persona.name" label="Name" required maxLength={100} value={p.name} onChange={(name) => set({ name })} />
      <TextAreaField
        path="persona.description"
        label="Description"
        rows={2}
        value={p.description}
        onChange={(description) => set({ description })}
        hint="Shown to players in listings."
      />
      <TextAreaField
        path="persona.identity_prompt"
        label="Identity prompt"
        required
        rows={10}
        value={p.identity_prompt}
        onChange={(identity_prompt) => set({ identity_prompt })}
        hint={
          <>
            Backstory, personality and voice. Use <code>{"{{player_name}}"}</code>, <code>{"{{player_gender}}"}</code> and{" "}
            <code>{"{{var.KEY}}"}</code> for persona variables.
          </>
        }
      />
      <CheckboxField
        path="persona.is_public"
        label="Listed publicly when published"
        checked={!!p.is_public}
        onChange={(is_public) => set({ is_public })}
      />
    </section>
  );
}

export function VariablesSection(props: { variables: PersonaVariable[]; onChange: (v: PersonaVariable[]) => void }) {
  const vars = props.variables;
  const setAt = (i: number, patch: Partial<PersonaVariable>) =>
    props.onChange(vars.map((v, n) => (n === i ? { ...v, ...patch } : v)));
  return (
    <section className="section" aria-labelledby="vars-title">
      <h2 id="vars-title">Persona variables</h2>
      <p className="subtitle">
        Values your prompts can use as <code>{"{{var.KEY}}"}</code>. Scenario output variables fill them in per player.
      </p>
      <FieldIssues path="variables" />
      {vars.length === 0 && <p className="empty">No variables.</p>}
      {vars.length > 0 && (
        <table className="table edit-table">
          <thead>
            <tr>
              <th scope="col">Key</th>
              <th scope="col">Default value</th>
              <th scope="col">Description</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {vars.map((v, i) => (
              <tr key={i}>
                <td>
                  <TextField path={`variables[${i}].key`} label={`Variable ${i + 1} key`} mono value={v.key} onChange={(key) => setAt(i, { key })} />
                </td>
                <td>
                  <TextField
                    path={`variables[${i}].default_value`}
                    label={`Variable ${i + 1} default value`}
                    value={v.default_value}
                    onChange={(default_value) => setAt(i, { default_value })}
                  />
                </td>
                <td>
                  <TextField
                    path={`variables[${i}].description`}
                    label={`Variable ${i + 1} description`}
                    value={v.description}
                    onChange={(description) => setAt(i, { description })}
                  />
                  <FieldIssues path={`variables[${i}]`} />
                </td>
                <td>
                  <button
                    type="button"
                    className="small danger-ghost"
                    aria-label={`Remove variable ${v.key || i + 1}`}
                    onClick={() => props.onChange(vars.filter((_, n) => n !== i))}
                  >
                    Remove
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <button type="button" onClick={() => props.onChange([...vars, { key: `var_${vars.length + 1}`, default_value: "", description: "" }])}>
        Add variable
      </button>
    </section>
  );
}

export function ScenarioSettings(props: {
  machine: Machine;
  index: number;
  onChange: (m: Machine) => void;
  onRenameKey: (oldKey: string, newKey: string) => void;
}) {
  const m = props.machine;
  const i = props.index;
  const p = (f: string) => `machines[${i}].${f}`;
  const set = (patch: Partial<Machine>) => props.onChange({ ...m, ...patch });
  const outs = m.output_variables ?? [];
  const setOut = (n: number, patch: Partial<OutputVariable>) =>
    set({ output_variables: outs.map((o, k) => (k === n ? { ...o, ...patch } : o)) });
  const mode: ScoringMode = m.scoring_mode ?? "scoring";
  return (
    <div className="settings">
      <FieldIssues path={`machines[${i}]`} />
      <div className="grid-2">
        <TextField path={p("name")} label="Scenario name" required value={m.name} onChange={(name) => set({ name })} />
        <TextField
          path={p("machine_key")}
          label="Scenario key"
          mono
          required
          value={m.machine_key}
          hint="Lowercase letters, digits and _; your game uses it."
          onChange={(v) => props.onRenameKey(m.machine_key, v)}
        />
      </div>
      <TextAreaField path={p("description")} label="Scenario description" rows={2} value={m.description} onChange={(description) => set({ description })} />
      <CheckboxField
        path={p("is_entry")}
        label="Entry scenario (playable from the start)"
        checked={!!m.is_entry}
        onChange={(is_entry) => set({ is_entry })}
      />
      <h3>Goal</h3>
      <TextAreaField path={p("creator_objective")} label="Objective" rows={3} value={m.creator_objective} onChange={(v) => set({ creator_objective: v })} />
      <div className="grid-2">
        <TextAreaField path={p("creator_win_condition")} label="Win condition" rows={3} value={m.creator_win_condition} onChange={(v) => set({ creator_win_condition: v })} />
        <TextAreaField path={p("creator_lose_condition")} label="Lose condition" rows={3} value={m.creator_lose_condition} onChange={(v) => set({ creator_lose_condition: v })} />
      </div>
      <h3>Prompts</h3>
      <TextAreaField path={p("chat_system_prompt")} label="Chat prompt" rows={4} value={m.chat_system_prompt} onChange={(v) => set({ chat_system_prompt: v })} hint="Scenario-wide instructions for the NPC's replies." />
      <TextAreaField path={p("system_evaluation_prompt")} label="Evaluation prompt" rows={3} value={m.system_evaluation_prompt} onChange={(v) => set({ system_evaluation_prompt: v })} hint="Optional extra instructions for the evaluator that picks transitions." />
      <TextAreaField path={p("system_summarization_prompt")} label="Summarization prompt" rows={3} value={m.system_summarization_prompt} onChange={(v) => set({ system_summarization_prompt: v })} hint="Optional: what summaries should keep." />
      <h3>Scoring</h3>
      <div className="grid-3">
        <SelectField<ScoringMode>
          path={p("scoring_mode")}
          label="Scoring mode"
          value={mode}
          options={[
            { value: "scoring", label: "Scoring (points decide)" },
            { value: "pass_fail", label: "Pass / fail (terminal states decide)" },
          ]}
          onChange={(scoring_mode) => set({ scoring_mode })}
        />
        <NumberField path={p("pass_threshold")} label="Pass threshold" value={m.pass_threshold} onChange={(v) => set({ pass_threshold: v })} hint="Final score ≥ this ⇒ ACCEPT" />
        <NumberField path={p("fail_threshold")} label="Fail threshold" value={m.fail_threshold} onChange={(v) => set({ fail_threshold: v })} hint="Score ≤ this ⇒ immediate REJECT" />
      </div>
      <h3>Output variables</h3>
      <p className="hint">Extracted from the finished conversation and kept per player, for later scenarios.</p>
      <FieldIssues path={p("output_variables")} />
      {outs.map((o, n) => (
        <div className="grid-out" key={n}>
          <TextField path={`${p("output_variables")}[${n}].key`} label={`Output ${n + 1} key`} mono value={o.key} onChange={(key) => setOut(n, { key })} />
          <TextAreaField
            path={`${p("output_variables")}[${n}].extraction_prompt`}
            label={`Output ${n + 1} extraction prompt`}
            rows={2}
            value={o.extraction_prompt}
            onChange={(extraction_prompt) => setOut(n, { extraction_prompt })}
          />
          <button
            type="button"
            className="small danger-ghost"
            aria-label={`Remove output variable ${o.key || n + 1}`}
            onClick={() => set({ output_variables: outs.filter((_, k) => k !== n) })}
          >
            Remove
          </button>
        </div>
      ))}
      <button type="button" onClick={() => set({ output_variables: [...outs, { key: `output_${outs.length + 1}`, extraction_prompt: "" }] })}>
        Add output variable
      </button>
    </div>
  );
}

/** Renames a scenario key everywhere it is referenced (links). */
export function renameMachineKey(doc: PersonaDocument, index: number, newKey: string): PersonaDocument {
  const oldKey = doc.machines[index]?.machine_key;
  return {
    ...doc,
    machines: doc.machines.map((m, i) => (i === index ? { ...m, machine_key: newKey } : m)),
    machine_links: (doc.machine_links ?? []).map((l) => ({
      ...l,
      from_machine_key: l.from_machine_key === oldKey ? newKey : l.from_machine_key,
      to_machine_key: l.to_machine_key === oldKey ? newKey : l.to_machine_key,
    })),
  };
}

/** Removes a scenario and the links that name it. */
export function removeMachine(doc: PersonaDocument, index: number): PersonaDocument {
  const key = doc.machines[index]?.machine_key;
  return {
    ...doc,
    machines: doc.machines.filter((_, i) => i !== index),
    machine_links: (doc.machine_links ?? []).filter((l) => l.from_machine_key !== key && l.to_machine_key !== key),
  };
}
