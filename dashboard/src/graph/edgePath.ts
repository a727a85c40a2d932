// Edge geometry shared by the state-machine and the links graph: cubic curves that keep parallel
// edges apart, bend backward edges below the nodes, and draw self-loops as arches above a node.

export interface EdgeGeometry {
  path: string;
  labelX: number;
  labelY: number;
}

const PARALLEL_STEP = 56;

function cubic(
  x0: number, y0: number, x1: number, y1: number, x2: number, y2: number, x3: number, y3: number,
): EdgeGeometry {
  return {
    path: `M ${x0},${y0} C ${x1},${y1} ${x2},${y2} ${x3},${y3}`,
    // Point at t = 0.5.
    labelX: 0.125 * x0 + 0.375 * x1 + 0.375 * x2 + 0.125 * x3,
    labelY: 0.125 * y0 + 0.375 * y1 + 0.375 * y2 + 0.125 * y3,
  };
}

/**
 * An edge from a source handle on a node's right side (sx, sy) to a target handle on a node's
 * left side (tx, ty). `slot`/`count` spread parallel edges between the same two nodes;
 * `reversed` says the edge runs against the pair's canonical direction (so both directions use
 * one consistent side each).
 */
export function edgeGeometry(
  sx: number, sy: number, tx: number, ty: number,
  opts: { selfLoop?: boolean; loopIndex?: number; slot?: number; count?: number; reversed?: boolean; loopHeight?: number },
): EdgeGeometry {
  if (opts.selfLoop) {
    // An arch over the node: out of the right handle, back into the left one.
    const h = (opts.loopHeight ?? 150) + (opts.loopIndex ?? 0) * 52;
    const spread = 70 + (opts.loopIndex ?? 0) * 16;
    return cubic(sx, sy, sx + spread, sy - h, tx - spread, ty - h, tx, ty);
  }
  const count = opts.count ?? 1;
  const slot = opts.slot ?? 0;
  let off = (slot - (count - 1) / 2) * PARALLEL_STEP;
  const dx = tx - sx;
  if (dx >= 40) {
    // Forward: a smooth S-curve, shifted vertically per parallel slot.
    const c = Math.max(50, dx * 0.4);
    return cubic(sx, sy, sx + c, sy + off, tx - c, ty + off, tx, ty);
  }
  // Backward (or overlapping): leave to the right, come back in from the left, bent below the
  // nodes; parallel slots bend by different amounts.
  if (opts.reversed) off = -off;
  const bend = Math.max(100, Math.abs(dx) * 0.2) + off + ((count - 1) / 2) * PARALLEL_STEP;
  const c = 90 + Math.max(0, off);
  const low = Math.max(sy, ty) + bend;
  return cubic(sx, sy, sx + c, low, tx - c, low, tx, ty);
}
