import { createContext, memo, useContext } from "react";
import { BaseEdge, EdgeLabelRenderer, type EdgeProps } from "@xyflow/react";
import { DECISION_LABELS, formatDelta, type TransitionEdge as TransitionEdgeType } from "./mapping";
import { edgeGeometry } from "./edgePath";

/** Lets an edge label select its edge (React Flow only selects on the path itself). */
export const SelectEdgeContext = createContext<(edgeId: string) => void>(() => {});

function TransitionEdgeView({
  id,
  source,
  target,
  sourceX,
  sourceY,
  targetX,
  targetY,
  data,
  selected,
  markerEnd,
}: EdgeProps<TransitionEdgeType>) {
  const select = useContext(SelectEdgeContext);
  if (!data) return null;
  const { transition: t, issues, index } = data;
  const g = edgeGeometry(sourceX, sourceY, targetX, targetY, {
    selfLoop: source === target,
    loopIndex: data.loopIndex,
    slot: data.parallelIndex,
    count: data.parallelCount,
    reversed: data.reversed,
  });
  const invalid = issues.length > 0;
  const cls = `fg-edge fg-decision--${t.decision_type}${invalid ? " fg-edge--invalid" : ""}${selected ? " fg-edge--selected" : ""}`;
  const condition = t.condition?.trim();
  return (
    <>
      <BaseEdge id={id} path={g.path} markerEnd={markerEnd} className={cls} interactionWidth={18} />
      <EdgeLabelRenderer>
        <div
          className={`fg-edge-label fg-decision--${t.decision_type}${invalid ? " fg-edge-label--invalid" : ""}${selected ? " fg-edge-label--selected" : ""} nodrag nopan`}
          style={{ transform: `translate(-50%, -50%) translate(${g.labelX}px, ${g.labelY}px)` }}
          data-testid={`edge-label-${index}`}
          title={(condition ? `When ${condition}` : "No condition yet") + (invalid ? `\n⚠ ${issues.map((i) => i.message).join("\n⚠ ")}` : "")}
          onClick={(e) => {
            e.stopPropagation();
            select(id);
          }}
        >
          <span className="fg-edge-label__type">{DECISION_LABELS[t.decision_type] ?? t.decision_type}</span>
          <span className="fg-edge-label__delta">{formatDelta(t.score_delta)}</span>
          <span className="fg-edge-label__prio">P{t.priority ?? 0}</span>
          {invalid && (
            <span className="fg-edge-label__issue" role="note">
              ⚠ {issues[0].message}
              {issues.length > 1 ? ` (+${issues.length - 1})` : ""}
            </span>
          )}
        </div>
      </EdgeLabelRenderer>
    </>
  );
}

export const TransitionEdge = memo(TransitionEdgeView);
