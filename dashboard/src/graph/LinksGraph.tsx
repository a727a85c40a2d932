// Machine links between a persona's scenarios: machines as nodes, links as edges; drag to
// connect two machines, edit the selected link in the inspector.
import { useMemo, useState } from "react";
import {
  Background,
  Controls,
  MarkerType,
  ReactFlow,
  type Connection,
  type Node,
} from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import "./graph.css";
import { useMeasuredNodes } from "./useMeasuredNodes";
import type { LinkConditionType, PersonaDocument, ValidationIssue } from "../api/types";
import {
  addLink,
  documentToLinksGraph,
  indexFromEdgeId,
  LINK_CONDITION_TYPES,
  linkLabel,
  machineKeyFromNodeId,
  OUTCOMES,
  removeLink,
  setLinkConditionType,
  updateLink,
} from "./mapping";

export interface LinksGraphProps {
  document: PersonaDocument;
  issues: ValidationIssue[];
  onChange: (next: PersonaDocument) => void;
}

export function LinksGraph({ document: doc, issues, onChange }: LinksGraphProps) {
  const [selected, setSelected] = useState<number | null>(null);
  const graph = useMemo(() => documentToLinksGraph(doc, issues), [doc, issues]);
  const nodes = useMemo(
    () =>
      graph.nodes.map((n) => ({
        ...n,
        type: "default",
        data: { label: `${n.data.machine.name} (${n.data.machine.machine_key})${n.data.machine.is_entry ? " · entry" : ""}` },
      })),
    [graph.nodes],
  );
  const [rfNodes, onNodesChange] = useMeasuredNodes<Node>(nodes);
  const links = doc.machine_links ?? [];
  const edges = useMemo(
    () =>
      links.map((l, i) => ({
        id: `link:${i}`,
        source: `machine:${l.from_machine_key}`,
        target: `machine:${l.to_machine_key}`,
        label: linkLabel(l),
        className: issues.some((x) => x.path.startsWith(`machine_links[${i}]`)) ? "edge-issue" : "",
        markerEnd: { type: MarkerType.ArrowClosed },
        selected: selected === i,
      })),
    [links, issues, selected],
  );
  const onConnect = (c: Connection) => {
    const from = machineKeyFromNodeId(c.source);
    const to = machineKeyFromNodeId(c.target);
    if (!from || !to) return;
    const next = addLink(doc, from, to);
    onChange(next.document);
    setSelected(next.index);
  };
  const link = selected !== null ? links[selected] : undefined;
  const own = (field: string) =>
    issues
      .filter((i) => selected !== null && i.path === `machine_links[${selected}].${field}`)
      .map((i) => (
        <span key={i.message} className="field-issue" role="alert">
          {i.message}
        </span>
      ));
  return (
    <div className="graph-body">
      <section className="graph-canvas" aria-label="Machine links graph">
        <ReactFlow
          nodes={rfNodes}
          edges={edges}
          onNodesChange={onNodesChange}
          onConnect={onConnect}
          onEdgeClick={(_, e) => setSelected(indexFromEdgeId(e.id, "link"))}
          onPaneClick={() => setSelected(null)}
          nodesDraggable={false}
          fitView
          deleteKeyCode={null}
        >
          <Background />
          <Controls />
        </ReactFlow>
      </section>
      <section className="inspector" aria-label="Link inspector">
        {!link || selected === null ? (
          <p className="muted">Drag from one scenario to another to link them; select a link to edit it.</p>
        ) : (
          <>
            <h3>
              Link {link.from_machine_key} → {link.to_machine_key}
            </h3>
            <label>
              Condition type
              <select
                value={link.condition_type}
                onChange={(e) => onChange(setLinkConditionType(doc, selected, e.target.value as LinkConditionType))}
              >
                {LINK_CONDITION_TYPES.map((t) => (
                  <option key={t}>{t}</option>
                ))}
              </select>
            </label>
            {link.condition_type === "outcome" && (
              <label>
                Outcome
                <select
                  value={String(link.condition_value ?? "ACCEPT")}
                  onChange={(e) => onChange(updateLink(doc, selected, { condition_value: e.target.value }))}
                >
                  {OUTCOMES.map((o) => (
                    <option key={o}>{o}</option>
                  ))}
                </select>
              </label>
            )}
            {(link.condition_type === "score_gte" || link.condition_type === "score_lte") && (
              <label>
                Score
                <input
                  type="number"
                  value={Number(link.condition_value ?? 0)}
                  onChange={(e) => onChange(updateLink(doc, selected, { condition_value: Number(e.target.value) }))}
                />
              </label>
            )}
            {own("condition_value")}
            <label className="check">
              <input
                type="checkbox"
                checked={!!link.is_auto_advance}
                onChange={(e) => onChange(updateLink(doc, selected, { is_auto_advance: e.target.checked }))}
              />
              Auto-advance
            </label>
            <button
              type="button"
              className="danger-ghost"
              onClick={() => {
                onChange(removeLink(doc, selected));
                setSelected(null);
              }}
            >
              Delete link
            </button>
          </>
        )}
      </section>
    </div>
  );
}
