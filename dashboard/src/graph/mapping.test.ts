import { readFileSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import type { Machine, PersonaDocument, Position } from "../api/types";
import {
  STATE_NODE_HEIGHT,
  STATE_NODE_WIDTH,
  addLink,
  addState,
  autoLayout,
  connect,
  documentToLinksGraph,
  edgeSlots,
  formatDelta,
  freeSpot,
  freezeLayout,
  graphToMachine,
  groupLinkIssues,
  groupMachineIssues,
  indexFromEdgeId,
  issuesForField,
  layoutMachine,
  machineToGraph,
  moveState,
  nextPriority,
  parseIssuePath,
  removeElements,
  removeLink,
  removeState,
  removeTransition,
  renameState,
  setInitial,
  setLinkConditionType,
  stateKeyFromNodeId,
  stateNodeId,
  transitionLabel,
  uniqueStateKey,
  updateLink,
  updateState,
  updateTransition,
} from "./mapping";

const EXAMPLES = resolve(__dirname, "../../../examples/personas");

function loadExamples(): { file: string; doc: PersonaDocument }[] {
  return readdirSync(EXAMPLES)
    .filter((f) => /\.(json|ya?ml)$/.test(f))
    .sort()
    .map((file) => {
      const text = readFileSync(join(EXAMPLES, file), "utf8");
      const doc = (file.endsWith(".json") ? JSON.parse(text) : parseYaml(text)) as PersonaDocument;
      return { file, doc };
    });
}

const examples = loadExamples();
const merchant = examples.find((e) => e.file === "wandering_merchant.json")!.doc;

function deepFreeze<T>(o: T): T {
  if (o && typeof o === "object") {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

function chain(n: number): Machine {
  const states = Array.from({ length: n }, (_, i) => ({
    state_key: `S${i}`,
    label: `State ${i}`,
    prompt_instruction: "x",
    is_initial_state: i === 0,
    is_terminal_state: i === n - 1,
  }));
  const transitions = states.slice(0, -1).flatMap((s, i) => [
    { from_state_key: s.state_key, to_state_key: `S${i + 1}`, decision_type: "pass" as const, condition: "go", score_delta: 1, priority: 0 },
    { from_state_key: s.state_key, to_state_key: s.state_key, decision_type: "redirect" as const, condition: "stay", score_delta: 0, priority: 1 },
  ]);
  return { machine_key: "chain", name: "Chain", states, transitions };
}

function assertNoOverlap(positions: Position[]) {
  const sorted = [...positions].sort((a, b) => a.x - b.x);
  for (let i = 0; i < sorted.length; i++) {
    for (let j = i + 1; j < sorted.length && sorted[j].x - sorted[i].x < STATE_NODE_WIDTH; j++) {
      const overlap = Math.abs(sorted[i].y - sorted[j].y) < STATE_NODE_HEIGHT;
      expect(overlap, `nodes at ${JSON.stringify(sorted[i])} and ${JSON.stringify(sorted[j])} overlap`).toBe(false);
    }
  }
}

describe("examples round-trip", () => {
  it("finds every example persona (JSON and YAML)", () => {
    expect(examples.length).toBeGreaterThanOrEqual(6);
    expect(examples.some((e) => e.file.endsWith(".yaml"))).toBe(true);
  });

  for (const { file, doc } of examples) {
    it(`${file}: every machine maps to a graph and back unchanged`, () => {
      deepFreeze(doc);
      doc.machines.forEach((m, i) => {
        const g = machineToGraph(m, { issues: groupMachineIssues([], i) });
        expect(g.nodes).toHaveLength(m.states.length);
        expect(g.edges).toHaveLength(m.transitions.length);
        expect(new Set(g.nodes.map((n) => n.id)).size).toBe(m.states.length);
        for (const e of g.edges) {
          expect(g.nodes.some((n) => n.id === e.source)).toBe(true);
          expect(g.nodes.some((n) => n.id === e.target)).toBe(true);
        }
        expect(graphToMachine(m, g)).toEqual(m);
        // Order of nodes/edges in the graph does not matter.
        expect(graphToMachine(m, { nodes: [...g.nodes].reverse(), edges: [...g.edges].reverse() })).toEqual(m);
      });
    });

    it(`${file}: the links graph has every machine and link`, () => {
      const g = documentToLinksGraph(doc);
      expect(g.nodes).toHaveLength(doc.machines.length);
      expect(g.edges).toHaveLength((doc.machine_links ?? []).length);
    });
  }

  it("the merchant's redirect self-loops and parallel edges get distinct slots", () => {
    const m = merchant.machines[0];
    const g = machineToGraph(m);
    const loops = g.edges.filter((e) => e.source === e.target);
    expect(loops.length).toBeGreaterThan(0);
    // CAMPFIRE → TALES twice (pass and reject): distinct parallel slots.
    const pair = g.edges.filter((e) => e.source === stateNodeId("CAMPFIRE") && e.target === stateNodeId("TALES"));
    expect(pair).toHaveLength(2);
    expect(pair.map((e) => e.data!.parallelIndex).sort()).toEqual([0, 1]);
    expect(pair.every((e) => e.data!.parallelCount === 2)).toBe(true);
  });

  it("node ids are key based and edge ids index based", () => {
    const g = machineToGraph(merchant.machines[0]);
    expect(g.nodes[0].id).toBe("state:CAMPFIRE");
    expect(stateKeyFromNodeId(g.nodes[0].id)).toBe("CAMPFIRE");
    expect(g.edges[3].id).toBe("transition:3");
    expect(indexFromEdgeId("transition:3")).toBe(3);
    expect(indexFromEdgeId("link:2", "link")).toBe(2);
    expect(indexFromEdgeId("state:x")).toBeNull();
    expect(g.nodes[0].ariaLabel).toBe("State CAMPFIRE");
  });

  it("marks the active state and attaches issues to their node and edge", () => {
    const issues = [
      { path: "machines[0].states[1].prompt_instruction", message: "must not be empty" },
      { path: "machines[0].transitions[2].condition", message: "the condition must not be empty" },
      { path: "machines[1].states[1].label", message: "other machine" },
      { path: "machines[0].states", message: "needs a terminal state" },
    ];
    const g = machineToGraph(merchant.machines[0], {
      issues: groupMachineIssues(issues, 0),
      activeStateKey: "TALES",
    });
    expect(g.nodes.map((n) => n.data.isActive)).toEqual([false, true, false, false]);
    expect(g.nodes[1].data.issues.map((i) => i.field)).toEqual(["prompt_instruction"]);
    expect(g.nodes[0].data.issues).toEqual([]);
    expect(g.edges[2].data!.issues[0].message).toContain("condition");
    expect(groupMachineIssues(issues, 0).machine.map((i) => i.message)).toEqual(["needs a terminal state"]);
  });
});

describe("edits", () => {
  const base = deepFreeze(structuredClone(merchant.machines[0]));

  it("rename updates every transition and keeps the initial flag", () => {
    const m = renameState(base, "CAMPFIRE", "FIRE");
    expect(m.states[0].state_key).toBe("FIRE");
    expect(m.states[0].is_initial_state).toBe(true);
    expect(m.transitions.some((t) => t.from_state_key === "CAMPFIRE" || t.to_state_key === "CAMPFIRE")).toBe(false);
    expect(m.transitions.filter((t) => t.from_state_key === "FIRE")).toHaveLength(4);
    expect(m.transitions[2]).toMatchObject({ from_state_key: "FIRE", to_state_key: "FIRE" });
    // Untouched transitions keep their identity.
    expect(m.transitions[4]).toBe(base.transitions[4]);
  });

  it("rename to a taken or empty key is refused", () => {
    expect(renameState(base, "CAMPFIRE", "TALES")).toBe(base);
    expect(renameState(base, "CAMPFIRE", "")).toBe(base);
    expect(updateState(base, "CAMPFIRE", { state_key: "TALES", label: "x" })).toBe(base);
  });

  it("updateState with a new key and other fields renames and patches", () => {
    const m = updateState(base, "TALES", { state_key: "STORIES", label: "Stories" });
    expect(m.states[1]).toMatchObject({ state_key: "STORIES", label: "Stories" });
    expect(m.transitions[0].to_state_key).toBe("STORIES");
  });

  it("remove state removes its transitions", () => {
    const m = removeState(base, "TALES");
    expect(m.states.map((s) => s.state_key)).toEqual(["CAMPFIRE", "FRIENDS", "SENT_PACKING"]);
    expect(m.transitions.some((t) => t.from_state_key === "TALES" || t.to_state_key === "TALES")).toBe(false);
    expect(m.transitions).toHaveLength(2);
  });

  it("removeElements removes states and transitions at once", () => {
    const m = removeElements(base, ["SENT_PACKING"], [0]);
    expect(m.transitions).toHaveLength(5);
    expect(m.transitions[0]).toBe(base.transitions[1]);
  });

  it("connect uses the defaults and the next free priority", () => {
    expect(nextPriority(base, "CAMPFIRE")).toBe(4);
    expect(nextPriority(base, "FRIENDS")).toBe(0);
    const { machine: m, index } = connect(base, "CAMPFIRE", "FRIENDS");
    expect(index).toBe(base.transitions.length);
    expect(m.transitions[index]).toEqual({
      from_state_key: "CAMPFIRE",
      to_state_key: "FRIENDS",
      decision_type: "pass",
      condition: "",
      score_delta: 0,
      priority: 4,
    });
    const self = connect(m, "FRIENDS", "FRIENDS").machine;
    expect(self.transitions.at(-1)).toMatchObject({ from_state_key: "FRIENDS", to_state_key: "FRIENDS", priority: 0 });
  });

  it("setInitial keeps exactly one initial state", () => {
    const m = setInitial(base, "TALES");
    expect(m.states.filter((s) => s.is_initial_state).map((s) => s.state_key)).toEqual(["TALES"]);
    const viaUpdate = updateState(base, "FRIENDS", { is_initial_state: true });
    expect(viaUpdate.states.filter((s) => s.is_initial_state).map((s) => s.state_key)).toEqual(["FRIENDS"]);
    expect(setInitial(base, "CAMPFIRE")).toBe(base);
  });

  it("addState picks a unique key and a sensible default", () => {
    const a = addState(base);
    expect(a.key).toBe("S_NEW_1");
    const b = addState(a.machine, { position: { x: 10, y: 20 } });
    expect(b.key).toBe("S_NEW_2");
    expect(b.machine.states.at(-1)).toMatchObject({
      state_key: "S_NEW_2",
      is_initial_state: false,
      is_terminal_state: false,
      position: { x: 10, y: 20 },
    });
    expect(uniqueStateKey(b.machine)).toBe("S_NEW_3");
    // The first state of an empty machine is initial.
    const empty: Machine = { machine_key: "e", name: "E", states: [], transitions: [] };
    expect(addState(empty).machine.states[0].is_initial_state).toBe(true);
  });

  it("updateTransition / removeTransition are immutable and bounded", () => {
    const m = updateTransition(base, 2, { condition: "new", score_delta: -2 });
    expect(m.transitions[2]).toMatchObject({ condition: "new", score_delta: -2, decision_type: "redirect" });
    expect(base.transitions[2].condition).toBe("the player says nothing useful");
    expect(updateTransition(base, 99, { condition: "x" })).toBe(base);
    expect(removeTransition(base, 0).transitions).toHaveLength(base.transitions.length - 1);
    expect(removeTransition(base, -1)).toBe(base);
  });

  it("moveState stores a rounded position", () => {
    const m = moveState(base, "TALES", { x: 10.4, y: -3.6 });
    expect(m.states[1].position).toEqual({ x: 10, y: -4 });
  });

  it("labels show decision, delta and priority", () => {
    expect(transitionLabel(base.transitions[3])).toBe("kick out · \u22123 · P3");
    expect(formatDelta(2)).toBe("+2");
    expect(formatDelta(0)).toBe("0");
  });
});

describe("layout", () => {
  it("lays out a 200-state chain without overlap, initial first, quickly", () => {
    const m = chain(200);
    const t0 = performance.now();
    const pos = layoutMachine(m);
    const ms = performance.now() - t0;
    expect(pos.size).toBe(200);
    assertNoOverlap([...pos.values()]);
    const s0 = pos.get("S0")!;
    for (const p of pos.values()) expect(p.x).toBeGreaterThanOrEqual(s0.x);
    expect(ms).toBeLessThan(3000);
  });

  it("keeps given positions and places the others without overlap", () => {
    const m = chain(200);
    const given = new Map<string, Position>();
    const states = m.states.map((s, i) => {
      if (i % 3 !== 0) return s;
      const p = { x: (i % 7) * 300, y: i * 60 };
      given.set(s.state_key, p);
      return { ...s, position: p };
    });
    const pos = layoutMachine({ ...m, states });
    expect(pos.size).toBe(200);
    for (const [k, p] of given) expect(pos.get(k)).toEqual(p);
    // The auto-placed ones never overlap each other nor the given ones.
    const free = [...pos.entries()].filter(([k]) => !given.has(k)).map(([, p]) => p);
    assertNoOverlap(free);
    for (const f of free) {
      for (const g of given.values()) {
        expect(Math.abs(f.x - g.x) < STATE_NODE_WIDTH && Math.abs(f.y - g.y) < STATE_NODE_HEIGHT).toBe(false);
      }
    }
  });

  it("the initial state comes first even with back edges into it", () => {
    const m = merchant.machines[0];
    const pos = layoutMachine(m);
    const x0 = pos.get("CAMPFIRE")!.x;
    for (const p of pos.values()) expect(p.x).toBeGreaterThanOrEqual(x0);
  });

  it("freezeLayout fills only the missing positions; autoLayout re-lays all", () => {
    const m = moveState(chain(5), "S2", { x: 999, y: 999 });
    const frozen = freezeLayout(m, layoutMachine(m));
    expect(frozen.states.every((s) => s.position)).toBe(true);
    expect(frozen.states[2].position).toEqual({ x: 999, y: 999 });
    expect(freezeLayout(frozen, layoutMachine(frozen))).toBe(frozen);
    const re = autoLayout(frozen);
    expect(re.states[2].position).not.toEqual({ x: 999, y: 999 });
    assertNoOverlap(re.states.map((s) => s.position!));
  });

  it("freeSpot avoids existing nodes", () => {
    const taken = [{ x: 0, y: 0 }, { x: 380, y: 0 }, { x: 380, y: 160 }];
    const p = freeSpot(taken, { x: 0, y: 0 });
    for (const q of taken) expect(Math.abs(p.x - q.x) < STATE_NODE_WIDTH && Math.abs(p.y - q.y) < STATE_NODE_HEIGHT).toBe(false);
    expect(freeSpot([])).toEqual({ x: 0, y: 0 });
  });

  it("edgeSlots numbers self-loops per state", () => {
    const s = edgeSlots([
      { from_state_key: "A", to_state_key: "A", decision_type: "redirect", condition: "" },
      { from_state_key: "A", to_state_key: "B", decision_type: "pass", condition: "" },
      { from_state_key: "A", to_state_key: "A", decision_type: "redirect", condition: "" },
      { from_state_key: "B", to_state_key: "A", decision_type: "pass", condition: "" },
    ]);
    expect(s.loopIndex[0]).toBe(0);
    expect(s.loopIndex[2]).toBe(1);
    expect([s.parallelIndex[1], s.parallelIndex[3]]).toEqual([0, 1]);
    expect(s.reversed[3]).toBe(true);
  });
});

describe("issue paths", () => {
  it.each([
    ["machines[0].transitions[3].condition", { kind: "transition", machine: 0, index: 3, field: "condition" }],
    ["machines[2].states[10].state_key", { kind: "state", machine: 2, index: 10, field: "state_key" }],
    ["machines[1].states[4]", { kind: "state", machine: 1, index: 4, field: undefined }],
    ["machines[0].output_variables[1].key", { kind: "output_variable", machine: 0, index: 1, field: "key" }],
    ["machines[0].states", { kind: "machine", machine: 0, field: "states" }],
    ["machines[3].fail_threshold", { kind: "machine", machine: 3, field: "fail_threshold" }],
    ["machines[3]", { kind: "machine", machine: 3, field: undefined }],
    ["machines", { kind: "machines" }],
    ["machine_links[1].condition_value", { kind: "link", index: 1, field: "condition_value" }],
    ["variables[0].key", { kind: "variable", index: 0, field: "key" }],
    ["persona.name", { kind: "persona", field: "name" }],
    ["something.else", { kind: "other" }],
  ])("%s", (path, want) => {
    expect(parseIssuePath(path)).toEqual(want);
  });

  it("issuesForField matches the field and its sub-paths", () => {
    const list = groupMachineIssues(
      [
        { path: "machines[0].transitions[2].condition", message: "a" },
        { path: "machines[0].transitions[2].to_state_key", message: "b" },
        { path: "machines[0].transitions[2]", message: "c" },
      ],
      0,
    ).transitions.get(2);
    expect(issuesForField(list, "condition").map((i) => i.message)).toEqual(["a"]);
    expect(issuesForField(list, "to_state_key").map((i) => i.message)).toEqual(["b"]);
  });

  it("groupLinkIssues groups by link index", () => {
    const g = groupLinkIssues([
      { path: "machine_links[1].condition_value", message: "bad" },
      { path: "machines", message: "no entry" },
      { path: "machines[0].machine_key", message: "dup" },
    ]);
    expect(g.links.get(1)![0].field).toBe("condition_value");
    expect(g.general).toHaveLength(1);
    expect(g.machines.get(0)).toHaveLength(1);
  });
});

describe("machine links", () => {
  const doc = deepFreeze(structuredClone(merchant));

  it("addLink defaults to outcome ACCEPT", () => {
    const { document, index } = addLink(doc, "the_hidden_map", "roadside_meeting");
    expect(index).toBe(2);
    expect(document.machine_links![2]).toEqual({
      from_machine_key: "the_hidden_map",
      to_machine_key: "roadside_meeting",
      condition_type: "outcome",
      condition_value: "ACCEPT",
      is_auto_advance: false,
    });
  });

  it("changing the condition type gives a value of the right kind", () => {
    let d = setLinkConditionType(doc, 0, "score_gte");
    expect(d.machine_links![0].condition_value).toBe(0);
    d = setLinkConditionType(d, 0, "always");
    expect("condition_value" in d.machine_links![0]).toBe(false);
    d = setLinkConditionType(d, 0, "outcome");
    expect(d.machine_links![0].condition_value).toBe("ACCEPT");
    expect(setLinkConditionType(doc, 1, "score_lte").machine_links![1].condition_value).toBe(3);
  });

  it("update and remove", () => {
    expect(updateLink(doc, 1, { is_auto_advance: true }).machine_links![1].is_auto_advance).toBe(true);
    expect(removeLink(doc, 0).machine_links).toEqual([doc.machine_links![1]]);
  });

  it("link labels and issues", () => {
    const g = documentToLinksGraph(doc, [{ path: "machine_links[1].condition_value", message: "bad" }]);
    expect(g.edges[0].ariaLabel).toContain("outcome ACCEPT · auto");
    expect(g.edges[1].ariaLabel).toContain("score ≥ 3");
    expect(g.edges[1].data!.issues).toHaveLength(1);
    // Entry machine first (left-most).
    const entry = g.nodes.find((n) => n.data.machine.is_entry)!;
    for (const n of g.nodes) expect(n.position.x).toBeGreaterThanOrEqual(entry.position.x);
  });
});
