// The graph editors of the persona editor.
export { MachineGraph, type MachineGraphProps } from "./MachineGraph";
export { LinksGraph, type LinksGraphProps } from "./LinksGraph";
