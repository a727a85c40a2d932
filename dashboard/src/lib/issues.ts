// Validation issue paths ("machines[0].states[3].prompt_instruction") → where the editor shows
// them, and DOM ids for the fields so an issue can be navigated to.
import type { ValidationIssue } from "../api/types";

export interface PathSegment {
  name: string;
  index: number | null;
}

/** "machines[0].states[1].state_key" → [{machines,0},{states,1},{state_key,null}]. */
export function parsePath(path: string): PathSegment[] {
  const out: PathSegment[] = [];
  for (const part of path.split(".")) {
    if (!part) continue;
    const m = /^([^[\]]*)((?:\[\d+\])*)$/.exec(part);
    if (!m) {
      out.push({ name: part, index: null });
      continue;
    }
    const indexes = [...m[2].matchAll(/\[(\d+)\]/g)].map((x) => Number(x[1]));
    if (indexes.length === 0) out.push({ name: m[1], index: null });
    else {
      out.push({ name: m[1], index: indexes[0] });
      for (const extra of indexes.slice(1)) out.push({ name: "", index: extra });
    }
  }
  return out;
}

export type IssueLocation =
  | { kind: "identity"; field: string | null }
  | { kind: "variables"; index: number | null; field: string | null }
  | { kind: "machine"; machine: number; field: string | null }
  | { kind: "output_variable"; machine: number; index: number; field: string | null }
  | { kind: "state"; machine: number; state: number; field: string | null }
  | { kind: "transition"; machine: number; transition: number; field: string | null }
  | { kind: "link"; index: number | null; field: string | null }
  | { kind: "document" };

/** Maps an issue path to the part of the editor that shows it. */
export function locate(path: string): IssueLocation {
  const seg = parsePath(path);
  const [a, b, c] = seg;
  if (!a) return { kind: "document" };
  if (a.name === "persona") return { kind: "identity", field: b?.name ?? null };
  if (a.name === "variables") return { kind: "variables", index: a.index, field: b?.name ?? null };
  if (a.name === "machine_links") return { kind: "link", index: a.index, field: b?.name ?? null };
  if (a.name === "machines") {
    if (a.index === null) return { kind: "document" };
    const m = a.index;
    if (!b) return { kind: "machine", machine: m, field: null };
    if (b.name === "states" && b.index !== null) return { kind: "state", machine: m, state: b.index, field: c?.name ?? null };
    if (b.name === "transitions" && b.index !== null)
      return { kind: "transition", machine: m, transition: b.index, field: c?.name ?? null };
    if (b.name === "output_variables" && b.index !== null)
      return { kind: "output_variable", machine: m, index: b.index, field: c?.name ?? null };
    // "machines[0].states" (e.g. "no initial state") is about the scenario as a whole.
    return { kind: "machine", machine: m, field: b.name };
  }
  return { kind: "document" };
}

/** Where the editor navigates for an issue: the section and, if any, the field's DOM id. */
export interface IssueTarget {
  section: "identity" | "variables" | "settings" | "graph" | "links" | "document";
  machine: number | null;
  fieldId: string | null;
}

export function fieldId(path: string): string {
  return "field-" + path.replace(/\[(\d+)\]/g, "-$1").replace(/[^A-Za-z0-9_-]+/g, "-");
}

/** Machine fields edited on the graph (states, transitions) rather than the settings form. */
const GRAPH_FIELDS = new Set(["states", "transitions"]);

export function targetOf(path: string): IssueTarget {
  const loc = locate(path);
  switch (loc.kind) {
    case "identity":
      return { section: "identity", machine: null, fieldId: loc.field ? fieldId(path) : null };
    case "variables":
      return { section: "variables", machine: null, fieldId: loc.field ? fieldId(path) : null };
    case "machine":
      if (loc.field && GRAPH_FIELDS.has(loc.field)) return { section: "graph", machine: loc.machine, fieldId: null };
      return { section: "settings", machine: loc.machine, fieldId: loc.field ? fieldId(path) : null };
    case "output_variable":
      return { section: "settings", machine: loc.machine, fieldId: loc.field ? fieldId(path) : null };
    case "state":
    case "transition":
      return { section: "graph", machine: loc.machine, fieldId: null };
    case "link":
      return { section: "links", machine: null, fieldId: null };
    default:
      return { section: "document", machine: null, fieldId: null };
  }
}

/** Issues whose path is exactly `path`. */
export function issuesAt(issues: ValidationIssue[], path: string): ValidationIssue[] {
  return issues.filter((i) => i.path === path);
}

/** Issues at `prefix` or anywhere below it. */
export function issuesUnder(issues: ValidationIssue[], prefix: string): ValidationIssue[] {
  return issues.filter(
    (i) => i.path === prefix || i.path.startsWith(prefix + ".") || i.path.startsWith(prefix + "["),
  );
}

/** A readable place name for the summary list: "Scenario 1 › state 2 › prompt instruction". */
export function describePath(path: string, names?: { machines?: string[] }): string {
  const loc = locate(path);
  const pretty = (f: string | null) => (f ? f.replace(/_/g, " ") : "");
  const m = (i: number) => names?.machines?.[i] || `scenario ${i + 1}`;
  const join = (...parts: string[]) => parts.filter(Boolean).join(" › ");
  switch (loc.kind) {
    case "identity":
      return join("Identity", pretty(loc.field));
    case "variables":
      return join("Variables", loc.index !== null ? `variable ${loc.index + 1}` : "", pretty(loc.field));
    case "machine":
      return join(m(loc.machine), pretty(loc.field));
    case "output_variable":
      return join(m(loc.machine), `output variable ${loc.index + 1}`, pretty(loc.field));
    case "state":
      return join(m(loc.machine), `state ${loc.state + 1}`, pretty(loc.field));
    case "transition":
      return join(m(loc.machine), `transition ${loc.transition + 1}`, pretty(loc.field));
    case "link":
      return join("Links", loc.index !== null ? `link ${loc.index + 1}` : "", pretty(loc.field));
    default:
      return path || "Document";
  }
}
