// Machine links between a persona's scenarios: machines as nodes, links as edges; drag from one
// machine to another to link them, edit the selected link in the inspector.
import { createContext, memo, useCallback, useContext, useMemo, useRef, useState } from "react";
import {
  Background,
  BackgroundVariant,
  BaseEdge,
  Controls,
  EdgeLabelRenderer,
  Handle,
  MarkerType,
  Position,
  ReactFlow,
  ReactFlowProvider,
  type Connection,
  type EdgeChange,
  type EdgeProps,
  type NodeChange,
  type NodeProps,
  type OnDelete,
} from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import "./graph.css";
import { useMeasuredNodes } from "./useMeasuredNodes";
import type { LinkConditionType, Outcome, PersonaDocument, ValidationIssue } from "../api/types";
import {
  LINK_CONDITION_TYPES,
  OUTCOMES,
  addLink,
  documentToLinksGraph,
  groupLinkIssues,
  indexFromEdgeId,
  issuesForField,
  linkLabel,
  machineKeyFromNodeId,
  removeLink,
  setLinkConditionType,
  updateLink,
  type LinkEdge as LinkEdgeT,
  type MachineNode as MachineNodeT,
} from "./mapping";
import { edgeGeometry } from "./edgePath";
import { CheckboxField, ElementIssues, IntField, SelectField } from "./fields";

export interface LinksGraphProps {
  document: PersonaDocument;
  issues: ValidationIssue[];
  onChange: (next: PersonaDocument) => void;
}

const SelectLinkContext = createContext<(id: string) => void>(() => {});

const MachineNodeView = memo(function MachineNodeView({ data, selected }: NodeProps<MachineNodeT>) {
  const m = data.machine;
  const key = m.machine_key;
  const cls = `fg-machine${m.is_entry ? " fg-machine--entry" : ""}${selected ? " fg-machine--selected" : ""}${data.issues.length ? " fg-machine--invalid" : ""}`;
  return (
    <div className={cls} data-testid={`machine-node-${key}`}>
      <Handle
        type="target"
        position={Position.Left}
        id="in"
        className="fg-handle fg-handle--in"
        data-testid={`target-handle-${key}`}
        aria-label={`Link into ${key}`}
      />
      <div className="fg-machine__name" title={m.name}>
        {m.name || key}
      </div>
      <code className="fg-machine__key">{key}</code>
      <div className="fg-badges">
        {m.is_entry && <span className="fg-badge fg-badge--initial">▶ Entry</span>}
        <span className="fg-badge">{(m.scoring_mode ?? "scoring") === "pass_fail" ? "pass / fail" : "scoring"}</span>
      </div>
      <div className="fg-machine__meta">
        {m.states.length} states · {m.transitions.length} transitions
      </div>
      {data.issues.length > 0 && (
        <ul className="fg-state__issues">
          {data.issues.map((i, n) => (
            <li key={n}>{i.message}</li>
          ))}
        </ul>
      )}
      <Handle
        type="source"
        position={Position.Right}
        id="out"
        className="fg-handle fg-handle--out"
        data-testid={`source-handle-${key}`}
        aria-label={`Drag to link from ${key}`}
      />
    </div>
  );
});

const LinkEdgeView = memo(function LinkEdgeView(p: EdgeProps<LinkEdgeT>) {
  const select = useContext(SelectLinkContext);
  if (!p.data) return null;
  const { link, issues, index } = p.data;
  const g = edgeGeometry(p.sourceX, p.sourceY, p.targetX, p.targetY, {
    selfLoop: p.source === p.target,
    loopHeight: 110,
    slot: p.data.parallelIndex,
    count: p.data.parallelCount,
    reversed: p.data.reversed,
  });
  const auto = !!link.is_auto_advance;
  const invalid = issues.length > 0;
  return (
    <>
      <BaseEdge
        id={p.id}
        path={g.path}
        markerEnd={p.markerEnd}
        interactionWidth={18}
        className={`fg-edge fg-link${auto ? " fg-link--auto" : ""}${invalid ? " fg-edge--invalid" : ""}${p.selected ? " fg-edge--selected" : ""}`}
      />
      <EdgeLabelRenderer>
        <div
          className={`fg-edge-label fg-link-label${auto ? " fg-link-label--auto" : ""}${invalid ? " fg-edge-label--invalid" : ""}${p.selected ? " fg-edge-label--selected" : ""} nodrag nopan`}
          style={{ transform: `translate(-50%, -50%) translate(${g.labelX}px, ${g.labelY}px)` }}
          data-testid={`link-label-${index}`}
          onClick={(e) => {
            e.stopPropagation();
            select(p.id);
          }}
        >
          <span>{linkLabel(link)}</span>
          {invalid && <span className="fg-edge-label__issue">⚠ {issues[0].message}</span>}
        </div>
      </EdgeLabelRenderer>
    </>
  );
});

const nodeTypes = { machine: MachineNodeView };
const edgeTypes = { link: LinkEdgeView };
const DELETE_KEYS = ["Backspace", "Delete"];
const FIT_VIEW_OPTIONS = { padding: 0.25, maxZoom: 1.1 };
const PRO_OPTIONS = { hideAttribution: true };

export function LinksGraph(props: LinksGraphProps) {
  return (
    <ReactFlowProvider>
      <LinksGraphInner {...props} />
    </ReactFlowProvider>
  );
}

function LinksGraphInner({ document: doc, issues, onChange }: LinksGraphProps) {
  const [selected, setSelected] = useState<number | null>(null);
  const docRef = useRef(doc);
  docRef.current = doc;
  const onChangeRef = useRef(onChange);
  onChangeRef.current = onChange;

  const graph = useMemo(() => documentToLinksGraph(doc, issues), [doc, issues]);
  const [rfNodes, applyChanges] = useMeasuredNodes<MachineNodeT>(graph.nodes);
  const links = doc.machine_links ?? [];
  const edges = useMemo(
    () =>
      graph.edges.map((e) => {
        const bad = e.data!.issues.length > 0;
        return {
          ...e,
          selected: selected === e.data!.index,
          markerEnd: {
            type: MarkerType.ArrowClosed,
            color: bad ? "#dc2626" : e.data!.link.is_auto_advance ? "#0e7490" : "#475467",
            width: 18,
            height: 18,
          },
        };
      }),
    [graph.edges, selected],
  );

  const onNodesChange = useCallback(
    (changes: NodeChange<MachineNodeT>[]) => applyChanges(changes.filter((c) => c.type !== "remove" && c.type !== "select")),
    [applyChanges],
  );
  const onEdgesChange = useCallback((changes: EdgeChange<LinkEdgeT>[]) => {
    for (const c of changes) {
      if (c.type !== "select") continue;
      const i = indexFromEdgeId(c.id, "link");
      if (i === null) continue;
      if (c.selected) setSelected(i);
      else setSelected((s) => (s === i ? null : s));
    }
  }, []);
  const onConnect = useCallback((c: Connection) => {
    const from = machineKeyFromNodeId(c.source);
    const to = machineKeyFromNodeId(c.target);
    if (!from || !to) return;
    const next = addLink(docRef.current, from, to);
    onChangeRef.current(next.document);
    setSelected(next.index);
  }, []);
  const onDelete: OnDelete<MachineNodeT, LinkEdgeT> = useCallback(({ edges: es }) => {
    const idx = new Set(es.map((e) => indexFromEdgeId(e.id, "link")));
    if (idx.size === 0) return;
    const d = docRef.current;
    onChangeRef.current({ ...d, machine_links: (d.machine_links ?? []).filter((_, k) => !idx.has(k)) });
    setSelected(null);
  }, []);
  const selectLink = useCallback((id: string) => setSelected(indexFromEdgeId(id, "link")), []);

  const grouped = useMemo(() => groupLinkIssues(issues), [issues]);
  const link = selected !== null ? links[selected] : undefined;
  const linkIssues = selected !== null ? (grouped.links.get(selected) ?? []) : [];
  const f = (field: string) => issuesForField(linkIssues, field);
  const keys = doc.machines.map((m) => m.machine_key);
  const keyOptions = (current: string) => {
    const list = keys.map((k) => ({ value: k, label: k }));
    if (!keys.includes(current)) list.unshift({ value: current, label: `${current || "(empty)"} — missing` });
    return list;
  };

  return (
    <div className="fg-root">
      <div className="fg-main">
        <div className="fg-toolbar">
          <span className="fg-toolbar__stats">
            {doc.machines.length} scenarios · {links.length} links — drag from a scenario's right handle to another to link
            them.
          </span>
        </div>
        {grouped.general.length > 0 && (
          <ul className="fg-problems" aria-label="Link problems">
            {grouped.general.map((i, n) => (
              <li key={n}>{i.message}</li>
            ))}
          </ul>
        )}
        <div className="fg-canvas" role="region" aria-label="Machine links graph">
          <SelectLinkContext.Provider value={selectLink}>
            <ReactFlow<MachineNodeT, LinkEdgeT>
              nodes={rfNodes}
              edges={edges}
              nodeTypes={nodeTypes}
              edgeTypes={edgeTypes}
              onNodesChange={onNodesChange}
              onEdgesChange={onEdgesChange}
              onConnect={onConnect}
              onDelete={onDelete}
              onPaneClick={() => setSelected(null)}
              nodesDraggable={false}
              deleteKeyCode={DELETE_KEYS}
              fitView
              fitViewOptions={FIT_VIEW_OPTIONS}
              minZoom={0.1}
              proOptions={PRO_OPTIONS}
            >
              <Background variant={BackgroundVariant.Dots} gap={20} size={1} />
              <Controls position="bottom-left" showInteractive={false} />
            </ReactFlow>
          </SelectLinkContext.Provider>
        </div>
      </div>
      <section className="fg-inspector" aria-label="Link inspector">
        {!link || selected === null ? (
          <div className="fg-inspector__empty">
            <p>Select a link to edit it.</p>
            <p className="fg-muted">
              When a scenario finishes, each link leaving it whose condition holds unlocks its target; auto-advance lets the
              game move the player straight on.
            </p>
            <AddLinkForm
              keys={keys}
              onAdd={(from, to) => {
                const next = addLink(docRef.current, from, to);
                onChange(next.document);
                setSelected(next.index);
              }}
            />
          </div>
        ) : (
          <div className="fg-inspector__body">
            <h3 className="fg-inspector__title">
              Link {selected}: <code>{link.from_machine_key}</code> → <code>{link.to_machine_key}</code>
            </h3>
            <ElementIssues issues={linkIssues.filter((i) => !i.field)} label="Problems in this link" />
            <div className="fg-field-row">
              <SelectField
                label="From scenario"
                value={link.from_machine_key}
                options={keyOptions(link.from_machine_key)}
                onChange={(v) => onChange(updateLink(doc, selected, { from_machine_key: v }))}
                issues={f("from_machine_key")}
              />
              <SelectField
                label="To scenario"
                value={link.to_machine_key}
                options={keyOptions(link.to_machine_key)}
                onChange={(v) => onChange(updateLink(doc, selected, { to_machine_key: v }))}
                issues={f("to_machine_key")}
              />
            </div>
            <SelectField
              label="Condition type"
              value={link.condition_type}
              options={LINK_CONDITION_TYPES.map((t) => ({ value: t, label: CONDITION_LABELS[t] }))}
              onChange={(v) => onChange(setLinkConditionType(doc, selected, v as LinkConditionType))}
              issues={f("condition_type")}
            />
            {link.condition_type === "outcome" && (
              <SelectField
                label="Outcome"
                value={String(link.condition_value ?? "ACCEPT")}
                options={OUTCOMES.map((o) => ({ value: o, label: o }))}
                onChange={(v) => onChange(updateLink(doc, selected, { condition_value: v as Outcome }))}
                issues={f("condition_value")}
              />
            )}
            {(link.condition_type === "score_gte" || link.condition_type === "score_lte") && (
              <IntField
                label="Score"
                value={typeof link.condition_value === "number" ? link.condition_value : Number(link.condition_value ?? 0) || 0}
                onChange={(v) => onChange(updateLink(doc, selected, { condition_value: v ?? 0 }))}
                issues={f("condition_value")}
                hint={link.condition_type === "score_gte" ? "Fires when the final score is at least this." : "Fires when the final score is at most this."}
              />
            )}
            {link.condition_type === "always" && f("condition_value").length > 0 && (
              <ElementIssues issues={f("condition_value")} label="Condition value problems" />
            )}
            <CheckboxField
              label="Auto-advance"
              checked={!!link.is_auto_advance}
              onChange={(v) => onChange(updateLink(doc, selected, { is_auto_advance: v }))}
              issues={f("is_auto_advance")}
            />
            <div className="fg-inspector__actions">
              <button
                type="button"
                className="fg-button fg-button--danger"
                onClick={() => {
                  onChange(removeLink(doc, selected));
                  setSelected(null);
                }}
              >
                Delete link
              </button>
            </div>
          </div>
        )}
      </section>
    </div>
  );
}

const CONDITION_LABELS: Record<LinkConditionType, string> = {
  outcome: "Outcome is",
  score_gte: "Score ≥",
  score_lte: "Score ≤",
  always: "Always",
};

function AddLinkForm({ keys, onAdd }: { keys: string[]; onAdd: (from: string, to: string) => void }) {
  const [from, setFrom] = useState(keys[0] ?? "");
  const [to, setTo] = useState(keys[1] ?? keys[0] ?? "");
  if (keys.length === 0) return null;
  const f = keys.includes(from) ? from : keys[0];
  const t = keys.includes(to) ? to : keys[0];
  return (
    <form
      className="fg-add-transition"
      aria-label="Add link"
      onSubmit={(e) => {
        e.preventDefault();
        onAdd(f, t);
      }}
    >
      <div className="fg-field-row">
        <SelectField label="Link from" value={f} options={keys.map((k) => ({ value: k, label: k }))} onChange={setFrom} />
        <SelectField label="Link to" value={t} options={keys.map((k) => ({ value: k, label: k }))} onChange={setTo} />
      </div>
      <button type="submit" className="fg-button">
        Add link
      </button>
    </form>
  );
}
