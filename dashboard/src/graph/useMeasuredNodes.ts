// React Flow measures nodes (and moves them while dragging) through node changes. The graphs
// derive their nodes from the document; this keeps React Flow's measurements across those
// re-derivations, so nodes stay visible and the document stays the source of truth.
import { useCallback, useEffect, useState } from "react";
import { applyNodeChanges, type Node, type NodeChange } from "@xyflow/react";

export function useMeasuredNodes<N extends Node>(nodes: N[]): [N[], (changes: NodeChange<N>[]) => void] {
  const [current, setCurrent] = useState<N[]>(nodes);
  useEffect(() => {
    setCurrent((previous) => {
      const measured = new Map(previous.map((n) => [n.id, n.measured]));
      return nodes.map((n) => ({ ...n, measured: measured.get(n.id) ?? n.measured }));
    });
  }, [nodes]);
  const onNodesChange = useCallback(
    (changes: NodeChange<N>[]) => setCurrent((list) => applyNodeChanges(changes, list)),
    [],
  );
  return [current, onNodesChange];
}
