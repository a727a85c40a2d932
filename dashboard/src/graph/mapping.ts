// The pure document ⇄ graph mapping of the state-machine editor (no React).
//
// - machine → React Flow nodes/edges (`machineToGraph`) and back (`graphToMachine`);
// - layout with dagre that keeps the positions a creator set (`layoutMachine`);
// - every edit as a pure function returning a new Machine / PersonaDocument (never mutating);
// - validation issue paths (`machines[0].transitions[3].condition`) parsed and grouped.
//
// Node ids are `state:<state_key>` (independent of the state's index), edge ids
// `transition:<index>`; machine nodes are `machine:<machine_key>`, link edges `link:<index>`.

import dagre from "@dagrejs/dagre";
import type { Edge, Node } from "@xyflow/react";
import type {
  DecisionType,
  LinkConditionType,
  Machine,
  MachineLink,
  Outcome,
  PersonaDocument,
  Position,
  State,
  Transition,
  ValidationIssue,
} from "../api/types";

// ---------------------------------------------------------------------------------------------
// Constants

export const DECISION_TYPES: DecisionType[] = ["pass", "redirect", "reject", "kick_out"];
export const OUTCOMES: Outcome[] = ["ACCEPT", "REJECT", "KICK_OUT"];
export const LINK_CONDITION_TYPES: LinkConditionType[] = ["outcome", "score_gte", "score_lte", "always"];

/** Node box used for layout and overlap checks (the CSS gives state nodes this width). */
export const STATE_NODE_WIDTH = 240;
export const STATE_NODE_HEIGHT = 130;
export const MACHINE_NODE_WIDTH = 240;
export const MACHINE_NODE_HEIGHT = 96;

const RANK_SEP = 200;
const NODE_SEP = 70;

// ---------------------------------------------------------------------------------------------
// Ids

export const stateNodeId = (key: string): string => `state:${key}`;
export const transitionEdgeId = (index: number): string => `transition:${index}`;
export const machineNodeId = (key: string): string => `machine:${key}`;
export const linkEdgeId = (index: number): string => `link:${index}`;

/** `state:S0` → `S0` (null for any other id). */
export function stateKeyFromNodeId(id: string): string | null {
  return id.startsWith("state:") ? id.slice("state:".length) : null;
}
export function machineKeyFromNodeId(id: string): string | null {
  return id.startsWith("machine:") ? id.slice("machine:".length) : null;
}
/** `transition:3` → 3 (null for any other id). */
export function indexFromEdgeId(id: string, prefix: "transition" | "link" = "transition"): number | null {
  if (!id.startsWith(prefix + ":")) return null;
  const n = Number(id.slice(prefix.length + 1));
  return Number.isInteger(n) && n >= 0 ? n : null;
}

// ---------------------------------------------------------------------------------------------
// Issue paths

export type IssueKind =
  | "persona"
  | "variable"
  | "machines"
  | "machine"
  | "state"
  | "transition"
  | "output_variable"
  | "link"
  | "other";

export interface IssueTarget {
  kind: IssueKind;
  /** Machine index for machine / state / transition / output_variable issues. */
  machine?: number;
  /** Index of the state, transition, output variable, link or variable. */
  index?: number;
  /** The field the path names (`condition`, `state_key`, …); undefined for the whole element. */
  field?: string;
}

const MACHINE_CHILD_RE = /^machines\[(\d+)\]\.(states|transitions|output_variables)\[(\d+)\](?:\.(.+))?$/;
const MACHINE_RE = /^machines\[(\d+)\](?:\.(.+))?$/;
const LINK_RE = /^machine_links\[(\d+)\](?:\.(.+))?$/;
const VARIABLE_RE = /^variables\[(\d+)\](?:\.(.+))?$/;

/** `machines[0].transitions[3].condition` → `{kind: "transition", machine: 0, index: 3, field: "condition"}`. */
export function parseIssuePath(path: string): IssueTarget {
  const p = path.trim();
  let m = MACHINE_CHILD_RE.exec(p);
  if (m) {
    const kind: IssueKind =
      m[2] === "states" ? "state" : m[2] === "transitions" ? "transition" : "output_variable";
    return { kind, machine: Number(m[1]), index: Number(m[3]), field: m[4] };
  }
  m = MACHINE_RE.exec(p);
  if (m) return { kind: "machine", machine: Number(m[1]), field: m[2] };
  m = LINK_RE.exec(p);
  if (m) return { kind: "link", index: Number(m[1]), field: m[2] };
  m = VARIABLE_RE.exec(p);
  if (m) return { kind: "variable", index: Number(m[1]), field: m[2] };
  if (p === "machines") return { kind: "machines" };
  if (p === "machine_links") return { kind: "link" };
  if (p === "persona" || p.startsWith("persona.")) {
    return { kind: "persona", field: p === "persona" ? undefined : p.slice("persona.".length) };
  }
  return { kind: "other" };
}

export interface FieldIssue extends ValidationIssue {
  /** The field the path names, or undefined when the issue is about the whole element. */
  field?: string;
}

export interface MachineIssues {
  /** Issues on the machine itself (`machines[i].states`, `machines[i].fail_threshold`, …). */
  machine: FieldIssue[];
  states: Map<number, FieldIssue[]>;
  transitions: Map<number, FieldIssue[]>;
}

/** Groups the issues that belong to machine `machineIndex` by state / transition index. */
export function groupMachineIssues(issues: readonly ValidationIssue[], machineIndex: number): MachineIssues {
  const out: MachineIssues = { machine: [], states: new Map(), transitions: new Map() };
  for (const issue of issues) {
    const t = parseIssuePath(issue.path);
    if (t.machine !== machineIndex) continue;
    const fi: FieldIssue = { ...issue, field: t.field };
    if (t.kind === "state" || t.kind === "transition") {
      const map = t.kind === "state" ? out.states : out.transitions;
      const list = map.get(t.index!);
      if (list) list.push(fi);
      else map.set(t.index!, [fi]);
    } else if (t.kind === "machine") {
      out.machine.push(fi);
    }
  }
  return out;
}

/** Issues of the links graph: by link index, plus machine-level issues by machine index. */
export function groupLinkIssues(issues: readonly ValidationIssue[]): {
  links: Map<number, FieldIssue[]>;
  machines: Map<number, FieldIssue[]>;
  general: FieldIssue[];
} {
  const links = new Map<number, FieldIssue[]>();
  const machines = new Map<number, FieldIssue[]>();
  const general: FieldIssue[] = [];
  for (const issue of issues) {
    const t = parseIssuePath(issue.path);
    const fi: FieldIssue = { ...issue, field: t.field };
    if (t.kind === "link" && t.index !== undefined) {
      links.set(t.index, [...(links.get(t.index) ?? []), fi]);
    } else if (t.kind === "link" || t.kind === "machines") {
      general.push(fi);
    } else if (t.kind === "machine" && (t.field === "machine_key" || t.field === "is_entry")) {
      machines.set(t.machine!, [...(machines.get(t.machine!) ?? []), fi]);
    }
  }
  return { links, machines, general };
}

/** The issues of `list` whose field is `field` (or starts with `field.` / `field[`). */
export function issuesForField(list: readonly FieldIssue[] | undefined, field: string): FieldIssue[] {
  if (!list) return [];
  return list.filter(
    (i) => i.field === field || (i.field !== undefined && (i.field.startsWith(field + ".") || i.field.startsWith(field + "["))),
  );
}

/** A compact signature of an issue list, to tell whether it changed. */
export function issuesSignature(list: readonly ValidationIssue[] | undefined): string {
  if (!list || list.length === 0) return "";
  return list.map((i) => i.path + "\u0000" + i.message).join("\u0001");
}

// ---------------------------------------------------------------------------------------------
// Layout

export type PositionMap = Map<string, Position>;

interface LayoutItem {
  id: string;
  position?: Position | null;
}

function hasPosition(p: Position | null | undefined): p is Position {
  return !!p && Number.isFinite(p.x) && Number.isFinite(p.y);
}

/**
 * Lays out a graph left-to-right with dagre. Items with a position keep it (unless `force`);
 * the others are laid out by dagre and, when some positions are given, placed below them so the
 * two groups never overlap. Returns top-left positions by id.
 */
export function layoutGraph(
  items: readonly LayoutItem[],
  edges: readonly { source: string; target: string }[],
  opts: { width: number; height: number; force?: boolean },
): PositionMap {
  const out: PositionMap = new Map();
  const free: string[] = [];
  for (const it of items) {
    if (!opts.force && hasPosition(it.position)) out.set(it.id, { x: it.position.x, y: it.position.y });
    else free.push(it.id);
  }
  if (free.length === 0) return out;

  const freeSet = new Set(free);
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: "LR", ranksep: RANK_SEP, nodesep: NODE_SEP, marginx: 0, marginy: 0 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const id of free) g.setNode(id, { width: opts.width, height: opts.height });
  const seen = new Set<string>();
  for (const e of edges) {
    if (e.source === e.target || !freeSet.has(e.source) || !freeSet.has(e.target)) continue;
    const k = e.source + "\u0000" + e.target;
    if (seen.has(k)) continue;
    seen.add(k);
    g.setEdge(e.source, e.target);
  }
  dagre.layout(g);

  let minX = Infinity;
  let minY = Infinity;
  for (const id of free) {
    const n = g.node(id);
    minX = Math.min(minX, n.x - opts.width / 2);
    minY = Math.min(minY, n.y - opts.height / 2);
  }
  // Below the positioned items, if any; otherwise at the origin.
  let dx = -minX;
  let dy = -minY;
  if (out.size > 0) {
    let left = Infinity;
    let bottom = -Infinity;
    for (const p of out.values()) {
      left = Math.min(left, p.x);
      bottom = Math.max(bottom, p.y + opts.height);
    }
    dx = left - minX;
    dy = bottom + NODE_SEP * 2 - minY;
  }
  for (const id of free) {
    const n = g.node(id);
    out.set(id, {
      x: Math.round(n.x - opts.width / 2 + dx),
      y: Math.round(n.y - opts.height / 2 + dy),
    });
  }
  return out;
}

/**
 * Positions of a machine's states by state key: the ones in the document kept (unless `force`),
 * the rest laid out with dagre, left to right, the initial state first.
 */
export function layoutMachine(machine: Machine, opts: { force?: boolean } = {}): PositionMap {
  const initial = machine.states.find((s) => s.is_initial_state)?.state_key;
  const ordered = [...machine.states].sort((a, b) => {
    if (a.state_key === initial) return -1;
    if (b.state_key === initial) return 1;
    return (a.display_order ?? 0) - (b.display_order ?? 0);
  });
  const items = ordered.map((s) => ({ id: s.state_key, position: s.position }));
  // Edges into the initial state are back edges: leaving them out keeps it in the first rank.
  const edges = machine.transitions
    .filter((t) => t.to_state_key !== initial)
    .map((t) => ({ source: t.from_state_key, target: t.to_state_key }));
  return layoutGraph(items, edges, {
    width: STATE_NODE_WIDTH,
    height: STATE_NODE_HEIGHT,
    force: opts.force,
  });
}

/** A signature of what the layout depends on (keys, edges, given positions). */
export function layoutSignature(machine: Machine): string {
  const parts: string[] = [];
  for (const s of machine.states) {
    parts.push(
      s.state_key + (s.is_initial_state ? "*" : "") + (hasPosition(s.position) ? `@${s.position.x},${s.position.y}` : ""),
    );
  }
  parts.push("|");
  for (const t of machine.transitions) parts.push(t.from_state_key + ">" + t.to_state_key);
  return parts.join(" ");
}

/** Writes `positions` into every state that has none (so an edit does not re-lay the others). */
export function freezeLayout(machine: Machine, positions: PositionMap): Machine {
  let changed = false;
  const states = machine.states.map((s) => {
    if (hasPosition(s.position)) return s;
    const p = positions.get(s.state_key);
    if (!p) return s;
    changed = true;
    return { ...s, position: { x: p.x, y: p.y } };
  });
  return changed ? { ...machine, states } : machine;
}

/** Auto layout: every state re-laid by dagre, the result stored in the document. */
export function autoLayout(machine: Machine): Machine {
  const positions = layoutMachine(machine, { force: true });
  return {
    ...machine,
    states: machine.states.map((s) => ({ ...s, position: positions.get(s.state_key) ?? s.position })),
  };
}

function overlaps(a: Position, b: Position, w: number, h: number): boolean {
  return Math.abs(a.x - b.x) < w && Math.abs(a.y - b.y) < h;
}

/** A free spot for a new node: right of `near` if given, else right of everything; moved down until free. */
export function freeSpot(positions: Iterable<Position>, near?: Position | null): Position {
  const list = [...positions];
  const w = STATE_NODE_WIDTH + 40;
  const h = STATE_NODE_HEIGHT + 30;
  let p: Position;
  if (near) {
    p = { x: near.x + STATE_NODE_WIDTH + RANK_SEP, y: near.y };
  } else if (list.length === 0) {
    p = { x: 0, y: 0 };
  } else {
    const maxX = Math.max(...list.map((q) => q.x));
    const minY = Math.min(...list.map((q) => q.y));
    p = { x: maxX + STATE_NODE_WIDTH + RANK_SEP, y: minY };
  }
  for (let i = 0; i < 1000 && list.some((q) => overlaps(p, q, w, h)); i++) p = { x: p.x, y: p.y + h };
  return p;
}

// ---------------------------------------------------------------------------------------------
// Machine → graph → machine

export interface StateNodeData extends Record<string, unknown> {
  state: State;
  index: number;
  scoringMode: "scoring" | "pass_fail";
  issues: FieldIssue[];
  isActive: boolean;
}

export interface TransitionEdgeData extends Record<string, unknown> {
  transition: Transition;
  index: number;
  issues: FieldIssue[];
  /** Self-loops of one state, numbered from 0 (for stacking the loops). */
  loopIndex: number;
  /** Edges between the same two states (either direction): this one's slot and their count. */
  parallelIndex: number;
  parallelCount: number;
  /** True when the edge runs against the pair's canonical direction (for the curve's side). */
  reversed: boolean;
}

export type StateNode = Node<StateNodeData, "state">;
export type TransitionEdge = Edge<TransitionEdgeData, "transition">;

export interface MachineGraphModel {
  nodes: StateNode[];
  edges: TransitionEdge[];
}

export interface MachineToGraphOptions {
  issues?: MachineIssues;
  activeStateKey?: string | null;
  positions?: PositionMap;
}

/** Parallel-edge slots: edges between the same unordered pair of states share a group. */
export function edgeSlots(transitions: readonly Transition[]): {
  loopIndex: number[];
  parallelIndex: number[];
  parallelCount: number[];
  reversed: boolean[];
} {
  const loopCounter = new Map<string, number>();
  const groups = new Map<string, number[]>();
  const loopIndex: number[] = [];
  const reversed: boolean[] = [];
  transitions.forEach((t, k) => {
    const a = t.from_state_key;
    const b = t.to_state_key;
    if (a === b) {
      const n = loopCounter.get(a) ?? 0;
      loopCounter.set(a, n + 1);
      loopIndex[k] = n;
      reversed[k] = false;
      return;
    }
    loopIndex[k] = 0;
    const key = a < b ? a + "\u0000" + b : b + "\u0000" + a;
    reversed[k] = a > b;
    const g = groups.get(key);
    if (g) g.push(k);
    else groups.set(key, [k]);
  });
  const parallelIndex: number[] = transitions.map(() => 0);
  const parallelCount: number[] = transitions.map(() => 1);
  for (const g of groups.values()) {
    g.forEach((k, i) => {
      parallelIndex[k] = i;
      parallelCount[k] = g.length;
    });
  }
  return { loopIndex, parallelIndex, parallelCount, reversed };
}

export const DECISION_LABELS: Record<DecisionType, string> = {
  pass: "pass",
  redirect: "redirect",
  reject: "reject",
  kick_out: "kick out",
};

/** `+1`, `−2`, `0` (with a real minus sign). */
export function formatDelta(n: number | undefined | null): string {
  const v = n ?? 0;
  if (v > 0) return `+${v}`;
  if (v < 0) return `\u2212${-v}`;
  return "0";
}

export function transitionLabel(t: Transition): string {
  return `${DECISION_LABELS[t.decision_type] ?? t.decision_type} · ${formatDelta(t.score_delta)} · P${t.priority ?? 0}`;
}

export function machineToGraph(machine: Machine, opts: MachineToGraphOptions = {}): MachineGraphModel {
  const positions = opts.positions ?? layoutMachine(machine);
  const mode = machine.scoring_mode ?? "scoring";
  const nodes: StateNode[] = machine.states.map((state, index) => ({
    id: stateNodeId(state.state_key),
    type: "state",
    position: positions.get(state.state_key) ?? state.position ?? { x: 0, y: 0 },
    ariaLabel: `State ${state.state_key}`,
    data: {
      state,
      index,
      scoringMode: mode,
      issues: opts.issues?.states.get(index) ?? [],
      isActive: !!opts.activeStateKey && opts.activeStateKey === state.state_key,
    },
  }));
  const slots = edgeSlots(machine.transitions);
  const edges: TransitionEdge[] = machine.transitions.map((transition, index) =>
    transitionToEdge(transition, index, slots, opts.issues?.transitions.get(index) ?? []),
  );
  return { nodes, edges };
}

export function transitionToEdge(
  transition: Transition,
  index: number,
  slots: ReturnType<typeof edgeSlots>,
  issues: FieldIssue[],
): TransitionEdge {
  return {
    id: transitionEdgeId(index),
    type: "transition",
    source: stateNodeId(transition.from_state_key),
    target: stateNodeId(transition.to_state_key),
    sourceHandle: "out",
    targetHandle: "in",
    ariaLabel: `Transition ${index}: ${transition.from_state_key} to ${transition.to_state_key}, ${transitionLabel(transition)}`,
    data: {
      transition,
      index,
      issues,
      loopIndex: slots.loopIndex[index],
      parallelIndex: slots.parallelIndex[index],
      parallelCount: slots.parallelCount[index],
      reversed: slots.reversed[index],
    },
  };
}

/**
 * The machine a graph stands for: states in node order of their `index`, transitions in edge
 * order of their `index`, taken from the node/edge data (`base` supplies the other fields).
 */
export function graphToMachine(base: Machine, graph: MachineGraphModel): Machine {
  const states = [...graph.nodes].sort((a, b) => a.data.index - b.data.index).map((n) => n.data.state);
  const transitions = [...graph.edges]
    .filter((e): e is TransitionEdge & { data: TransitionEdgeData } => !!e.data)
    .sort((a, b) => a.data.index - b.data.index)
    .map((e) => ({
      ...e.data.transition,
      from_state_key: stateKeyFromNodeId(e.source) ?? e.data.transition.from_state_key,
      to_state_key: stateKeyFromNodeId(e.target) ?? e.data.transition.to_state_key,
    }));
  return { ...base, states, transitions };
}

// ---------------------------------------------------------------------------------------------
// Edits on a Machine (pure)

/** A state key not used yet: `S_NEW_1`, `S_NEW_2`, … */
export function uniqueStateKey(machine: Machine, prefix = "S_NEW_"): string {
  const used = new Set(machine.states.map((s) => s.state_key));
  for (let i = 1; ; i++) {
    const k = `${prefix}${i}`;
    if (!used.has(k)) return k;
  }
}

export function addState(
  machine: Machine,
  init: Partial<State> = {},
): { machine: Machine; key: string } {
  const key = init.state_key && !machine.states.some((s) => s.state_key === init.state_key)
    ? init.state_key
    : uniqueStateKey(machine);
  const maxOrder = machine.states.reduce((m, s) => Math.max(m, s.display_order ?? -1), -1);
  const state: State = {
    state_key: key,
    label: init.label ?? "New state",
    prompt_instruction: init.prompt_instruction ?? "",
    is_initial_state: machine.states.length === 0 ? true : (init.is_initial_state ?? false),
    is_terminal_state: init.is_terminal_state ?? false,
    display_order: init.display_order ?? maxOrder + 1,
    ...(init.position ? { position: init.position } : {}),
  };
  let next: Machine = { ...machine, states: [...machine.states, state] };
  if (state.is_initial_state) next = setInitial(next, key);
  return { machine: next, key };
}

/** Removes a state and every transition from or to it. */
export function removeState(machine: Machine, key: string): Machine {
  return removeElements(machine, [key], []);
}

/** Removes several states (with their transitions) and transitions (by index) in one edit. */
export function removeElements(machine: Machine, stateKeys: readonly string[], transitionIndices: readonly number[]): Machine {
  const keys = new Set(stateKeys);
  const idx = new Set(transitionIndices);
  if (keys.size === 0 && idx.size === 0) return machine;
  return {
    ...machine,
    states: keys.size ? machine.states.filter((s) => !keys.has(s.state_key)) : machine.states,
    transitions: machine.transitions.filter(
      (t, k) => !idx.has(k) && !keys.has(t.from_state_key) && !keys.has(t.to_state_key),
    ),
  };
}

/** Renames a state; every transition naming it follows. No-op if `to` is taken or empty. */
export function renameState(machine: Machine, from: string, to: string): Machine {
  if (from === to || to === "" || machine.states.some((s) => s.state_key === to)) return machine;
  if (!machine.states.some((s) => s.state_key === from)) return machine;
  return {
    ...machine,
    states: machine.states.map((s) => (s.state_key === from ? { ...s, state_key: to } : s)),
    transitions: machine.transitions.map((t) =>
      t.from_state_key === from || t.to_state_key === from
        ? {
            ...t,
            from_state_key: t.from_state_key === from ? to : t.from_state_key,
            to_state_key: t.to_state_key === from ? to : t.to_state_key,
          }
        : t,
    ),
  };
}

export function updateState(machine: Machine, key: string, patch: Partial<State>): Machine {
  if (patch.state_key !== undefined && patch.state_key !== key) {
    const renamed = renameState(machine, key, patch.state_key);
    if (renamed === machine) return machine; // key taken or empty: refuse the whole patch
    const { state_key, ...rest } = patch;
    return Object.keys(rest).length ? updateState(renamed, state_key, rest) : renamed;
  }
  if (patch.is_initial_state === true) {
    const rest = { ...patch };
    delete rest.is_initial_state;
    return updateState(setInitial(machine, key), key, rest);
  }
  let hit = false;
  const states = machine.states.map((s) => {
    if (s.state_key !== key) return s;
    hit = true;
    return { ...s, ...patch };
  });
  return hit ? { ...machine, states } : machine;
}

/** Makes `key` the only initial state (null: none). */
export function setInitial(machine: Machine, key: string | null): Machine {
  let changed = false;
  const states = machine.states.map((s) => {
    const want = s.state_key === key;
    if (!!s.is_initial_state === want) return s;
    changed = true;
    return { ...s, is_initial_state: want };
  });
  return changed ? { ...machine, states } : machine;
}

/** The next free priority among the transitions leaving `from`. */
export function nextPriority(machine: Machine, from: string): number {
  let max = -1;
  for (const t of machine.transitions) if (t.from_state_key === from) max = Math.max(max, t.priority ?? 0);
  return max + 1;
}

/** Adds a transition `from → to` (pass, empty condition, delta 0, next free priority). */
export function connect(
  machine: Machine,
  from: string,
  to: string,
  init: Partial<Transition> = {},
): { machine: Machine; index: number } {
  const t: Transition = {
    from_state_key: from,
    to_state_key: to,
    decision_type: init.decision_type ?? "pass",
    condition: init.condition ?? "",
    score_delta: init.score_delta ?? 0,
    priority: init.priority ?? nextPriority(machine, from),
  };
  return { machine: { ...machine, transitions: [...machine.transitions, t] }, index: machine.transitions.length };
}

export function updateTransition(machine: Machine, index: number, patch: Partial<Transition>): Machine {
  if (index < 0 || index >= machine.transitions.length) return machine;
  const transitions = machine.transitions.slice();
  transitions[index] = { ...transitions[index], ...patch };
  return { ...machine, transitions };
}

export function removeTransition(machine: Machine, index: number): Machine {
  if (index < 0 || index >= machine.transitions.length) return machine;
  return { ...machine, transitions: machine.transitions.filter((_, k) => k !== index) };
}

/** Stores a dragged node's position (rounded). */
export function moveState(machine: Machine, key: string, position: Position): Machine {
  return updateState(machine, key, { position: { x: Math.round(position.x), y: Math.round(position.y) } });
}

// ---------------------------------------------------------------------------------------------
// Machine links (on the PersonaDocument)

export interface MachineNodeData extends Record<string, unknown> {
  machine: Machine;
  index: number;
  issues: FieldIssue[];
}
export interface LinkEdgeData extends Record<string, unknown> {
  link: MachineLink;
  index: number;
  issues: FieldIssue[];
  parallelIndex: number;
  parallelCount: number;
  reversed: boolean;
}
export type MachineNode = Node<MachineNodeData, "machine">;
export type LinkEdge = Edge<LinkEdgeData, "link">;

export function linkLabel(link: MachineLink): string {
  let cond: string;
  switch (link.condition_type) {
    case "outcome":
      cond = `outcome ${link.condition_value ?? "?"}`;
      break;
    case "score_gte":
      cond = `score ≥ ${link.condition_value ?? "?"}`;
      break;
    case "score_lte":
      cond = `score ≤ ${link.condition_value ?? "?"}`;
      break;
    case "always":
      cond = "always";
      break;
    default:
      cond = String(link.condition_type);
  }
  return link.is_auto_advance ? `${cond} · auto` : cond;
}

export function layoutDocument(doc: PersonaDocument): PositionMap {
  const items = [...doc.machines]
    .sort((a, b) => Number(!!b.is_entry) - Number(!!a.is_entry))
    .map((m) => ({ id: m.machine_key }));
  const edges = (doc.machine_links ?? []).map((l) => ({ source: l.from_machine_key, target: l.to_machine_key }));
  return layoutGraph(items, edges, { width: MACHINE_NODE_WIDTH, height: MACHINE_NODE_HEIGHT, force: true });
}

export function documentToLinksGraph(
  doc: PersonaDocument,
  issues: readonly ValidationIssue[] = [],
  positions: PositionMap = layoutDocument(doc),
): { nodes: MachineNode[]; edges: LinkEdge[] } {
  const grouped = groupLinkIssues(issues);
  const nodes: MachineNode[] = doc.machines.map((machine, index) => ({
    id: machineNodeId(machine.machine_key),
    type: "machine",
    position: positions.get(machine.machine_key) ?? { x: 0, y: 0 },
    ariaLabel: `Machine ${machine.machine_key}`,
    data: { machine, index, issues: grouped.machines.get(index) ?? [] },
  }));
  const links = doc.machine_links ?? [];
  const slots = edgeSlots(
    links.map((l) => ({
      from_state_key: l.from_machine_key,
      to_state_key: l.to_machine_key,
      decision_type: "pass",
      condition: "",
    })),
  );
  const edges: LinkEdge[] = links.map((link, index) => ({
    id: linkEdgeId(index),
    type: "link",
    source: machineNodeId(link.from_machine_key),
    target: machineNodeId(link.to_machine_key),
    sourceHandle: "out",
    targetHandle: "in",
    ariaLabel: `Link ${index}: ${link.from_machine_key} to ${link.to_machine_key}, ${linkLabel(link)}`,
    data: {
      link,
      index,
      issues: grouped.links.get(index) ?? [],
      parallelIndex: slots.parallelIndex[index],
      parallelCount: slots.parallelCount[index],
      reversed: slots.reversed[index],
    },
  }));
  return { nodes, edges };
}

export function addLink(
  doc: PersonaDocument,
  from: string,
  to: string,
  init: Partial<MachineLink> = {},
): { document: PersonaDocument; index: number } {
  const link: MachineLink = {
    from_machine_key: from,
    to_machine_key: to,
    condition_type: init.condition_type ?? "outcome",
    condition_value: init.condition_value === undefined ? "ACCEPT" : init.condition_value,
    is_auto_advance: init.is_auto_advance ?? false,
  };
  const links = doc.machine_links ?? [];
  return { document: { ...doc, machine_links: [...links, link] }, index: links.length };
}

export function updateLink(doc: PersonaDocument, index: number, patch: Partial<MachineLink>): PersonaDocument {
  const links = doc.machine_links ?? [];
  if (index < 0 || index >= links.length) return doc;
  const next = links.slice();
  next[index] = { ...next[index], ...patch };
  return { ...doc, machine_links: next };
}

/** Changes a link's condition type, giving it a value of the right kind. */
export function setLinkConditionType(doc: PersonaDocument, index: number, type: LinkConditionType): PersonaDocument {
  const link = (doc.machine_links ?? [])[index];
  if (!link) return doc;
  let value: MachineLink["condition_value"];
  if (type === "always") value = null;
  else if (type === "outcome") value = typeof link.condition_value === "string" && OUTCOMES.includes(link.condition_value as Outcome) ? link.condition_value : "ACCEPT";
  else value = typeof link.condition_value === "number" ? link.condition_value : 0;
  const patch: Partial<MachineLink> = { condition_type: type, condition_value: value };
  const next = updateLink(doc, index, patch);
  if (type === "always") {
    // No value at all for `always` (the server rejects a value).
    const links = next.machine_links!.slice();
    const { condition_value: _drop, ...rest } = links[index];
    void _drop;
    links[index] = rest;
    return { ...next, machine_links: links };
  }
  return next;
}

export function removeLink(doc: PersonaDocument, index: number): PersonaDocument {
  const links = doc.machine_links ?? [];
  if (index < 0 || index >= links.length) return doc;
  return { ...doc, machine_links: links.filter((_, k) => k !== index) };
}
