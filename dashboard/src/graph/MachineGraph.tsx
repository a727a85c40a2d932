// The scenario's state machine as an editable graph: states are nodes, transitions edges; the
// inspector edits the selected one. Controlled: every edit calls onChange with a new Machine.
import { memo, useCallback, useEffect, useMemo, useRef, useState } from "react";
import {
  Background,
  Controls,
  Handle,
  MarkerType,
  MiniMap,
  Position as Side,
  ReactFlow,
  type Connection,
  type NodeProps,
} from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import "./graph.css";
import { useMeasuredNodes } from "./useMeasuredNodes";
import type { Machine, ValidationIssue } from "../api/types";
import {
  addState,
  autoLayout,
  connect,
  DECISION_TYPES,
  freeSpot,
  groupMachineIssues,
  machineToGraph,
  moveState,
  OUTCOMES,
  removeState,
  removeTransition,
  renameState,
  setInitial,
  stateKeyFromNodeId,
  indexFromEdgeId,
  transitionLabel,
  updateState,
  updateTransition,
  type StateNode,
} from "./mapping";

const StateNodeView = memo(function StateNodeView({ data }: NodeProps<StateNode>) {
  const s = data.state;
  const key = s.state_key;
  return (
    <div
      className={`state-node${data.isActive ? " active" : ""}${data.issues.length ? " has-issues" : ""}`}
      aria-current={data.isActive ? "step" : undefined}
    >
      <Handle type="target" position={Side.Left} data-testid={`target-handle-${key}`} />
      <div className="state-title">{s.label || key}</div>
      <div className="state-key">{key}</div>
      <div className="state-badges">
        {s.is_initial_state && <span className="badge info">initial</span>}
        {s.is_terminal_state && <span className="badge">terminal</span>}
        {s.terminal_outcome && <span className="badge ok">{s.terminal_outcome}</span>}
        {data.isActive && <span className="badge ok">Current state</span>}
      </div>
      {s.follow_up_condition && <div className="state-followup">? {s.follow_up_condition}</div>}
      {data.issues.map((i, n) => (
        <div key={n} className="state-issue" role="note">
          {i.message}
        </div>
      ))}
      <Handle type="source" position={Side.Right} data-testid={`source-handle-${key}`} />
    </div>
  );
});

const nodeTypes = { state: StateNodeView };

type Selection = { kind: "state"; key: string } | { kind: "transition"; index: number } | null;

export interface MachineGraphProps {
  machine: Machine;
  machineIndex: number;
  issues: ValidationIssue[];
  activeStateKey?: string | null;
  onChange: (next: Machine) => void;
}

export function MachineGraph(props: MachineGraphProps) {
  const { machine, machineIndex, issues, activeStateKey, onChange } = props;
  const [selected, setSelected] = useState<Selection>(null);
  const grouped = useMemo(() => groupMachineIssues(issues, machineIndex), [issues, machineIndex]);
  const graph = useMemo(
    () => machineToGraph(machine, { issues: grouped, activeStateKey }),
    [machine, grouped, activeStateKey],
  );
  const edges = useMemo(
    () =>
      graph.edges.map((e) => {
        const t = machine.transitions[e.data!.index];
        const bad = e.data!.issues.length > 0;
        return {
          id: e.id,
          source: e.source,
          target: e.target,
          label: transitionLabel(t) + (bad ? " ⚠" : ""),
          ariaLabel: `Transition ${t.from_state_key} to ${t.to_state_key}`,
          className: `edge-${t.decision_type}${bad ? " edge-issue" : ""}`,
          markerEnd: { type: MarkerType.ArrowClosed },
          selected: selected?.kind === "transition" && selected.index === e.data!.index,
        };
      }),
    [graph.edges, machine.transitions, selected],
  );
  const nodes = useMemo(
    () => graph.nodes.map((n) => ({ ...n, selected: selected?.kind === "state" && selected.key === n.data.state.state_key })),
    [graph.nodes, selected],
  );

  const [rfNodes, onNodesChange] = useMeasuredNodes(nodes);

  // Fit the view once every node has been measured, and again when states come or go.
  const flow = useRef<{ fit: () => unknown } | null>(null);
  const measuredCount = rfNodes.filter((n) => n.measured?.width).length;
  useEffect(() => {
    if (rfNodes.length > 0 && measuredCount === rfNodes.length) {
      requestAnimationFrame(() => void flow.current?.fit());
    }
  }, [measuredCount, rfNodes.length]);

  const onConnect = useCallback(
    (c: Connection) => {
      const from = stateKeyFromNodeId(c.source);
      const to = stateKeyFromNodeId(c.target);
      if (!from || !to) return;
      const next = connect(machine, from, to);
      onChange(next.machine);
      setSelected({ kind: "transition", index: next.index });
    },
    [machine, onChange],
  );

  const add = () => {
    const spot = freeSpot(graph.nodes.map((n) => n.position));
    const next = addState(machine, { position: spot });
    onChange(next.machine);
    setSelected({ kind: "state", key: next.key });
  };

  return (
    <div className="machine-graph">
      <div className="graph-toolbar" role="toolbar" aria-label="Graph tools">
        <button type="button" onClick={add}>
          Add state
        </button>
        <button type="button" onClick={() => onChange(autoLayout(machine))}>
          Auto layout
        </button>
      </div>
      <div className="graph-body">
        <section className="graph-canvas" aria-label="State machine graph">
          <ReactFlow
            nodes={rfNodes}
            edges={edges}
            nodeTypes={nodeTypes}
            onNodesChange={onNodesChange}
            onInit={(instance) => {
              flow.current = { fit: () => instance.fitView({ padding: 0.15 }) };
            }}
            onConnect={onConnect}
            onNodeClick={(_, n) => setSelected({ kind: "state", key: n.data.state.state_key })}
            onEdgeClick={(_, e) => {
              const index = indexFromEdgeId(e.id);
              if (index !== null) setSelected({ kind: "transition", index });
            }}
            onNodeDragStop={(_, n) => {
              const key = stateKeyFromNodeId(n.id);
              if (key) onChange(moveState(machine, key, { x: Math.round(n.position.x), y: Math.round(n.position.y) }));
            }}
            onPaneClick={() => setSelected(null)}
            fitView
            minZoom={0.1}
            deleteKeyCode={null}
          >
            <Background />
            <Controls />
            <MiniMap pannable zoomable />
          </ReactFlow>
        </section>
        <Inspector {...props} selected={selected} setSelected={setSelected} />
      </div>
    </div>
  );
}

function issueText(issues: ValidationIssue[], path: string) {
  const own = issues.filter((i) => i.path === path);
  return own.length ? (
    <span className="field-issue" role="alert">
      {own.map((i) => i.message).join("; ")}
    </span>
  ) : null;
}

function Inspector(
  props: MachineGraphProps & { selected: Selection; setSelected: (s: Selection) => void },
) {
  const { machine, machineIndex, issues, onChange, selected, setSelected } = props;
  const [renameDraft, setRenameDraft] = useState<string | null>(null);
  const [connectTo, setConnectTo] = useState("");
  const base = `machines[${machineIndex}]`;
  if (!selected) {
    return (
      <section className="inspector" aria-label="Inspector">
        <p className="muted">Select a state or a transition to edit it. Drag from a state's right handle to another state to add a transition.</p>
      </section>
    );
  }
  if (selected.kind === "state") {
    const index = machine.states.findIndex((s) => s.state_key === selected.key);
    const s = machine.states[index];
    if (!s) return <section className="inspector" aria-label="Inspector" />;
    const p = `${base}.states[${index}]`;
    const set = (patch: Parameters<typeof updateState>[2]) => onChange(updateState(machine, s.state_key, patch));
    return (
      <section className="inspector" aria-label="Inspector">
        <h3>State {s.state_key}</h3>
        <label>
          State key
          <input
            value={renameDraft ?? s.state_key}
            onChange={(e) => setRenameDraft(e.target.value)}
            onBlur={() => {
              if (renameDraft && renameDraft !== s.state_key) {
                onChange(renameState(machine, s.state_key, renameDraft));
                setSelected({ kind: "state", key: renameDraft });
              }
              setRenameDraft(null);
            }}
          />
        </label>
        {issueText(issues, `${p}.state_key`)}
        <label>
          Label
          <input value={s.label ?? ""} onChange={(e) => set({ label: e.target.value || null })} />
        </label>
        <label>
          Prompt instruction
          <textarea rows={4} value={s.prompt_instruction ?? ""} onChange={(e) => set({ prompt_instruction: e.target.value })} />
        </label>
        {issueText(issues, `${p}.prompt_instruction`)}
        <label className="check">
          <input type="checkbox" checked={!!s.is_initial_state} onChange={(e) => onChange(setInitial(machine, e.target.checked ? s.state_key : null))} />
          Initial state
        </label>
        <label className="check">
          <input type="checkbox" checked={!!s.is_terminal_state} onChange={(e) => set({ is_terminal_state: e.target.checked })} />
          Terminal state
        </label>
        {issueText(issues, `${p}.is_terminal_state`)}
        {machine.scoring_mode === "pass_fail" && s.is_terminal_state && (
          <label>
            Terminal outcome
            <select value={s.terminal_outcome ?? ""} onChange={(e) => set({ terminal_outcome: (e.target.value || null) as never })}>
              <option value="">(default ACCEPT)</option>
              {OUTCOMES.map((o) => (
                <option key={o}>{o}</option>
              ))}
            </select>
          </label>
        )}
        <label>
          Follow-up condition
          <input value={s.follow_up_condition ?? ""} onChange={(e) => set({ follow_up_condition: e.target.value || null })} />
        </label>
        <fieldset>
          <legend>Add transition</legend>
          <label>
            To state
            <select value={connectTo} onChange={(e) => setConnectTo(e.target.value)}>
              <option value="">Choose…</option>
              {machine.states.map((t) => (
                <option key={t.state_key} value={t.state_key}>
                  {t.state_key}
                </option>
              ))}
            </select>
          </label>
          <button
            type="button"
            disabled={!connectTo}
            onClick={() => {
              const next = connect(machine, s.state_key, connectTo);
              onChange(next.machine);
              setSelected({ kind: "transition", index: next.index });
            }}
          >
            Add transition
          </button>
        </fieldset>
        <button
          type="button"
          className="danger-ghost"
          onClick={() => {
            onChange(removeState(machine, s.state_key));
            setSelected(null);
          }}
        >
          Delete state
        </button>
      </section>
    );
  }
  const t = machine.transitions[selected.index];
  if (!t) return <section className="inspector" aria-label="Inspector" />;
  const p = `${base}.transitions[${selected.index}]`;
  const set = (patch: Parameters<typeof updateTransition>[2]) => onChange(updateTransition(machine, selected.index, patch));
  const keys = machine.states.map((s) => s.state_key);
  return (
    <section className="inspector" aria-label="Inspector">
      <h3>
        Transition {t.from_state_key} → {t.to_state_key}
      </h3>
      <label>
        From
        <select value={t.from_state_key} onChange={(e) => set({ from_state_key: e.target.value })}>
          {keys.map((k) => (
            <option key={k}>{k}</option>
          ))}
        </select>
      </label>
      <label>
        To
        <select value={t.to_state_key} onChange={(e) => set({ to_state_key: e.target.value })}>
          {keys.map((k) => (
            <option key={k}>{k}</option>
          ))}
        </select>
      </label>
      {issueText(issues, `${p}.to_state_key`)}
      <label>
        Decision type
        <select value={t.decision_type} onChange={(e) => set({ decision_type: e.target.value as never })}>
          {DECISION_TYPES.map((d) => (
            <option key={d}>{d}</option>
          ))}
        </select>
      </label>
      <label>
        Condition
        <textarea rows={3} value={t.condition} onChange={(e) => set({ condition: e.target.value })} />
      </label>
      {issueText(issues, `${p}.condition`)}
      <label>
        Score delta
        <input type="number" value={t.score_delta ?? 0} onChange={(e) => set({ score_delta: Number(e.target.value) || 0 })} />
      </label>
      <label>
        Priority
        <input type="number" value={t.priority ?? 0} onChange={(e) => set({ priority: Number(e.target.value) || 0 })} />
      </label>
      <button
        type="button"
        className="danger-ghost"
        onClick={() => {
          onChange(removeTransition(machine, selected.index));
          // Back to the state it left, which is usually what the creator edits next.
          setSelected({ kind: "state", key: t.from_state_key });
        }}
      >
        Delete transition
      </button>
    </section>
  );
}
