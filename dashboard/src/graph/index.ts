// The graph editors of the persona editor (see README.md for the accessible names and test ids).
export { MachineGraph, DECISION_COLORS, type MachineGraphProps } from "./MachineGraph";
export { LinksGraph, type LinksGraphProps } from "./LinksGraph";
export type { Selection } from "./MachineInspector";
// The pure document ⇄ graph mapping, edits and issue-path parsing.
export * from "./mapping";
