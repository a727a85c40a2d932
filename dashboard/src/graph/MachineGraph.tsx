import { useCallback, useMemo, useRef, useState } from "react";
import {
  Background,
  BackgroundVariant,
  Controls,
  MarkerType,
  MiniMap,
  ReactFlow,
  ReactFlowProvider,
  applyNodeChanges,
  useReactFlow,
  type Connection,
  type EdgeChange,
  type NodeChange,
  type OnDelete,
  type OnNodeDrag,
} from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import "./graph.css";
import type { Machine, State, Transition, ValidationIssue } from "../api/types";
import {
  STATE_NODE_HEIGHT,
  STATE_NODE_WIDTH,
  addState,
  autoLayout,
  connect,
  edgeSlots,
  freeSpot,
  freezeLayout,
  groupMachineIssues,
  indexFromEdgeId,
  issuesSignature,
  layoutMachine,
  layoutSignature,
  moveState,
  removeElements,
  renameState,
  stateKeyFromNodeId,
  stateNodeId,
  transitionToEdge,
  updateState,
  updateTransition,
  type PositionMap,
  type StateNode as StateNodeT,
  type TransitionEdge as TransitionEdgeT,
} from "./mapping";
import { StateNode } from "./StateNode";
import { SelectEdgeContext, TransitionEdge } from "./TransitionEdge";
import { MachineProblems, StateInspector, TransitionInspector, type Selection } from "./MachineInspector";

export interface MachineGraphProps {
  machine: Machine;
  machineIndex: number;
  issues: ValidationIssue[];
  /** The playtest's current state, highlighted on the graph. */
  activeStateKey?: string | null;
  onChange: (next: Machine) => void;
}

// Module level: React Flow warns when these objects change between renders.
const nodeTypes = { state: StateNode };
const edgeTypes = { transition: TransitionEdge };
const DELETE_KEYS = ["Backspace", "Delete"];
// Fitting never zooms out below half size, where labels stop being readable: a machine wider
// than the canvas is panned instead (the minimap and "Fit View" still show all of it).
const FIT_VIEW_OPTIONS = { padding: 0.15, maxZoom: 1.1, minZoom: 0.5 };
const PRO_OPTIONS = { hideAttribution: true };

export const DECISION_COLORS: Record<string, string> = {
  pass: "#15803d",
  redirect: "#2563eb",
  reject: "#c2410c",
  kick_out: "#7e22ce",
};
const INVALID_COLOR = "#dc2626";
/** Above this many states, only the visible nodes and edges are rendered. */
const VIRTUALIZE_ABOVE = 80;

function useLatest<T>(value: T) {
  const ref = useRef(value);
  ref.current = value;
  return ref;
}

interface NodeCacheEntry {
  state: State;
  index: number;
  mode: string;
  issues: string;
  active: boolean;
  x: number;
  y: number;
  node: StateNodeT;
}
interface EdgeCacheEntry {
  transition: Transition;
  slotKey: string;
  issues: string;
  edge: TransitionEdgeT;
}

/** The visual state-machine editor of one machine (controlled: every edit calls `onChange`). */
export function MachineGraph(props: MachineGraphProps) {
  return (
    <ReactFlowProvider>
      <MachineGraphInner key={props.machineIndex} {...props} />
    </ReactFlowProvider>
  );
}

function MachineGraphInner({ machine, machineIndex, issues, activeStateKey, onChange }: MachineGraphProps) {
  const rf = useReactFlow();
  const machineRef = useLatest(machine);
  const onChangeRef = useLatest(onChange);
  const [sel, setSel] = useState<Selection>(null);

  const grouped = useMemo(() => groupMachineIssues(issues, machineIndex), [issues, machineIndex]);

  // Layout: only recomputed when keys, edges or given positions change (not on text edits).
  const sig = layoutSignature(machine);
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const positions: PositionMap = useMemo(() => layoutMachine(machine), [sig]);
  const positionsRef = useLatest(positions);

  // ---- nodes: one stable object per unchanged state, so memoised node components skip renders.
  const nodeCache = useRef(new Map<string, NodeCacheEntry>());
  const computedNodes = useMemo(() => {
    const mode = machine.scoring_mode ?? "scoring";
    const next = new Map<string, NodeCacheEntry>();
    const list = machine.states.map((state, index) => {
      const key = state.state_key;
      const pos = positions.get(key) ?? { x: 0, y: 0 };
      const stateIssues = grouped.states.get(index) ?? [];
      const isig = issuesSignature(stateIssues);
      const active = !!activeStateKey && activeStateKey === key;
      const old = nodeCache.current.get(key);
      let entry: NodeCacheEntry;
      if (
        old &&
        old.state === state &&
        old.index === index &&
        old.mode === mode &&
        old.issues === isig &&
        old.active === active &&
        old.x === pos.x &&
        old.y === pos.y
      ) {
        entry = old;
      } else {
        entry = {
          state,
          index,
          mode,
          issues: isig,
          active,
          x: pos.x,
          y: pos.y,
          node: {
            id: stateNodeId(key),
            type: "state",
            position: { x: pos.x, y: pos.y },
            ariaLabel: `State ${key}`,
            data: { state, index, scoringMode: mode, issues: stateIssues, isActive: active },
          },
        };
      }
      next.set(key, entry);
      return entry.node;
    });
    nodeCache.current = next;
    return list;
  }, [machine.states, machine.scoring_mode, positions, grouped, activeStateKey]);

  // Local copy of the nodes: React Flow keeps measurements and live drag positions on them.
  const srcOf = useRef(new WeakMap<object, StateNodeT>());
  const [rfNodes, setRfNodes] = useState<StateNodeT[]>(computedNodes);
  const [seenComputed, setSeenComputed] = useState(computedNodes);
  if (seenComputed !== computedNodes) {
    setSeenComputed(computedNodes);
    const prevById = new Map(rfNodes.map((n) => [n.id, n]));
    setRfNodes(
      computedNodes.map((c) => {
        const p = prevById.get(c.id);
        if (!p) return c;
        if (p === c || srcOf.current.get(p) === c) return p;
        const merged: StateNodeT = { ...c, measured: p.measured };
        srcOf.current.set(merged, c);
        return merged;
      }),
    );
  }

  const nodes = useMemo(
    () =>
      rfNodes.map((n) => {
        const want = sel?.kind === "state" && stateNodeId(sel.key) === n.id;
        if (!!n.selected === want) return n;
        const copy = { ...n, selected: want };
        srcOf.current.set(copy, srcOf.current.get(n) ?? n);
        return copy;
      }),
    [rfNodes, sel],
  );

  // ---- edges
  const edgeCache = useRef(new Map<number, EdgeCacheEntry>());
  const edges = useMemo(() => {
    const slots = edgeSlots(machine.transitions);
    const next = new Map<number, EdgeCacheEntry>();
    const list = machine.transitions.map((t, k) => {
      const tIssues = grouped.transitions.get(k) ?? [];
      const isig = issuesSignature(tIssues);
      const slotKey = `${slots.loopIndex[k]}/${slots.parallelIndex[k]}/${slots.parallelCount[k]}/${slots.reversed[k]}`;
      const selected = sel?.kind === "transition" && sel.index === k;
      const old = edgeCache.current.get(k);
      let entry: EdgeCacheEntry;
      if (old && old.transition === t && old.slotKey === slotKey && old.issues === isig && !!old.edge.selected === selected) {
        entry = old;
      } else {
        const edge = transitionToEdge(t, k, slots, tIssues);
        const color = tIssues.length ? INVALID_COLOR : (DECISION_COLORS[t.decision_type] ?? "#64748b");
        edge.markerEnd = { type: MarkerType.ArrowClosed, color, width: 18, height: 18 };
        edge.selected = selected;
        entry = { transition: t, slotKey, issues: isig, edge };
      }
      next.set(k, entry);
      return entry.edge;
    });
    edgeCache.current = next;
    return list;
  }, [machine.transitions, grouped, sel]);

  // ---- edits
  const emit = useCallback((next: Machine) => {
    if (next !== machineRef.current) onChangeRef.current(next);
  }, [machineRef, onChangeRef]);
  /** Structural edits first write the current layout into the document, so nothing jumps. */
  const frozen = useCallback(() => freezeLayout(machineRef.current, positionsRef.current), [machineRef, positionsRef]);

  const onNodesChange = useCallback((changes: NodeChange<StateNodeT>[]) => {
    const rest: NodeChange<StateNodeT>[] = [];
    for (const c of changes) {
      if (c.type === "select") {
        const key = stateKeyFromNodeId(c.id);
        if (key === null) continue;
        if (c.selected) setSel({ kind: "state", key });
        else setSel((s) => (s?.kind === "state" && s.key === key ? null : s));
      } else if (c.type !== "remove") {
        rest.push(c);
      }
    }
    if (rest.length === 0) return;
    setRfNodes((prev) => {
      const next = applyNodeChanges(rest, prev);
      // Keep the link from each updated node to the computed node it came from.
      const prevById = new Map(prev.map((n) => [n.id, n]));
      for (const n of next) {
        const p = prevById.get(n.id);
        if (p && p !== n) srcOf.current.set(n, srcOf.current.get(p) ?? p);
      }
      return next;
    });
  }, []);

  const onEdgesChange = useCallback((changes: EdgeChange<TransitionEdgeT>[]) => {
    for (const c of changes) {
      if (c.type !== "select") continue;
      const index = indexFromEdgeId(c.id);
      if (index === null) continue;
      if (c.selected) setSel({ kind: "transition", index });
      else setSel((s) => (s?.kind === "transition" && s.index === index ? null : s));
    }
  }, []);

  const onNodeDragStop: OnNodeDrag<StateNodeT> = useCallback((_e, _node, dragged) => {
    let m = frozen();
    for (const n of dragged) {
      const key = stateKeyFromNodeId(n.id);
      if (key !== null) m = moveState(m, key, n.position);
    }
    emit(m);
  }, [emit, frozen]);

  const onConnect = useCallback((c: Connection) => {
    const from = stateKeyFromNodeId(c.source);
    const to = stateKeyFromNodeId(c.target);
    if (from === null || to === null) return;
    const { machine: m, index } = connect(frozen(), from, to);
    emit(m);
    setSel({ kind: "transition", index });
  }, [emit, frozen]);

  const onDelete: OnDelete<StateNodeT, TransitionEdgeT> = useCallback(({ nodes: ns, edges: es }) => {
    const keys = ns.map((n) => stateKeyFromNodeId(n.id)).filter((k): k is string => k !== null);
    const idx = es.map((e) => indexFromEdgeId(e.id)).filter((k): k is number => k !== null);
    emit(removeElements(frozen(), keys, idx));
    setSel(null);
  }, [emit, frozen]);

  const selectEdge = useCallback((edgeId: string) => {
    const index = indexFromEdgeId(edgeId);
    if (index !== null) setSel({ kind: "transition", index });
  }, []);

  const onAddState = useCallback(() => {
    const m0 = frozen();
    const pos = positionsRef.current;
    const near = sel?.kind === "state" ? pos.get(sel.key) : null;
    const spot = freeSpot(pos.values(), near);
    const { machine: m, key } = addState(m0, { position: spot });
    emit(m);
    setSel({ kind: "state", key });
    // Bring the new state into view (with virtualisation, off-screen nodes are not rendered).
    requestAnimationFrame(() => {
      rf.setCenter(spot.x + STATE_NODE_WIDTH / 2, spot.y + STATE_NODE_HEIGHT / 2, { zoom: Math.max(rf.getZoom(), 0.6), duration: 200 });
    });
  }, [emit, frozen, positionsRef, rf, sel]);

  const onAutoLayout = useCallback(() => {
    emit(autoLayout(machineRef.current));
    requestAnimationFrame(() => rf.fitView({ ...FIT_VIEW_OPTIONS, duration: 200 }));
  }, [emit, machineRef, rf]);

  // ---- inspector
  const selectedState = sel?.kind === "state" ? machine.states.findIndex((s) => s.state_key === sel.key) : -1;
  const selectedTransition = sel?.kind === "transition" && sel.index < machine.transitions.length ? sel.index : -1;
  let inspector: React.ReactNode;
  if (selectedState >= 0) {
    const state = machine.states[selectedState];
    const key = state.state_key;
    inspector = (
      <StateInspector
        key={`s:${key}`}
        machine={machine}
        state={state}
        index={selectedState}
        issues={grouped.states.get(selectedState) ?? []}
        onPatch={(patch) => emit(updateState(machineRef.current, key, patch))}
        onRename={(to) => {
          const t = to.trim();
          if (t === "") return "The state key must not be empty.";
          if (t === key) return null;
          if (machineRef.current.states.some((s) => s.state_key === t)) return `Another state already uses the key ${t}.`;
          // Keep the node where it is: its position is stored under the new key.
          const next = renameState(freezeLayout(machineRef.current, positionsRef.current), key, t);
          emit(next);
          setSel({ kind: "state", key: t });
          return null;
        }}
        onDelete={() => {
          emit(removeElements(frozen(), [key], []));
          setSel(null);
        }}
        onConnect={(to) => {
          const { machine: m, index } = connect(frozen(), key, to);
          emit(m);
          setSel({ kind: "transition", index });
        }}
        onSelect={setSel}
      />
    );
  } else if (selectedTransition >= 0) {
    const k = selectedTransition;
    inspector = (
      <TransitionInspector
        key={`t:${k}`}
        machine={machine}
        transition={machine.transitions[k]}
        index={k}
        issues={grouped.transitions.get(k) ?? []}
        onPatch={(patch) => emit(updateTransition(machineRef.current, k, patch))}
        onDelete={() => {
          const from = machineRef.current.transitions[k]?.from_state_key;
          emit(removeElements(frozen(), [], [k]));
          // Back to the state it left, which is usually what the creator edits next.
          setSel(from !== undefined && machineRef.current.states.some((s) => s.state_key === from) ? { kind: "state", key: from } : null);
        }}
        onSelect={setSel}
      />
    );
  } else {
    inspector = (
      <div className="fg-inspector__empty">
        <p>Select a state or a transition to edit it.</p>
        <p className="fg-muted">
          Drag from a state's right handle to another state (or itself) to add a transition. Delete or Backspace removes
          the selection.
        </p>
      </div>
    );
  }

  const virtualize = machine.states.length > VIRTUALIZE_ABOVE;

  return (
    <div className="fg-root">
      <div className="fg-main">
        <div className="fg-toolbar" role="toolbar" aria-label="Graph tools">
          <button type="button" className="fg-button fg-button--primary" onClick={onAddState}>
            Add state
          </button>
          <button type="button" className="fg-button" onClick={onAutoLayout}>
            Auto layout
          </button>
          <span className="fg-toolbar__stats" aria-live="polite">
            {machine.states.length} states · {machine.transitions.length} transitions
          </span>
          <ul className="fg-legend" aria-label="Decision types">
            {Object.entries(DECISION_COLORS).map(([d, c]) => (
              <li key={d}>
                <span className="fg-legend__swatch" style={{ background: c }} aria-hidden="true" />
                {d.replace("_", " ")}
              </li>
            ))}
          </ul>
        </div>
        <MachineProblems issues={grouped.machine} />
        <div className="fg-canvas" role="region" aria-label="State machine graph">
          <SelectEdgeContext.Provider value={selectEdge}>
            <ReactFlow<StateNodeT, TransitionEdgeT>
              className="fg-flow"
              nodes={nodes}
              edges={edges}
              nodeTypes={nodeTypes}
              edgeTypes={edgeTypes}
              onNodesChange={onNodesChange}
              onEdgesChange={onEdgesChange}
              onNodeDragStop={onNodeDragStop}
              onConnect={onConnect}
              onDelete={onDelete}
              onPaneClick={() => setSel(null)}
              deleteKeyCode={DELETE_KEYS}
              fitView
              fitViewOptions={FIT_VIEW_OPTIONS}
              minZoom={0.05}
              maxZoom={2}
              onlyRenderVisibleElements={virtualize}
              proOptions={PRO_OPTIONS}
              elevateEdgesOnSelect
            >
              <Background variant={BackgroundVariant.Dots} gap={20} size={1} />
              <Controls position="bottom-left" />
              <MiniMap
                position="bottom-right"
                pannable
                zoomable
                nodeColor={miniMapColor}
                ariaLabel="Mini map of the state machine"
              />
            </ReactFlow>
          </SelectEdgeContext.Provider>
        </div>
      </div>
      <section className="fg-inspector" aria-label="Inspector">
        {inspector}
      </section>
    </div>
  );
}

function miniMapColor(n: { data?: Record<string, unknown> }): string {
  const d = n.data as StateNodeT["data"] | undefined;
  if (!d) return "#cbd5e1";
  if (d.issues.length) return INVALID_COLOR;
  if (d.isActive) return "#f59e0b";
  if (d.state.is_initial_state) return "#15803d";
  if (d.state.is_terminal_state) return "#334155";
  return "#94a3b8";
}

