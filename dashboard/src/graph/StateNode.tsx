import { memo } from "react";
import { Handle, Position, type NodeProps } from "@xyflow/react";
import type { StateNode as StateNodeType } from "./mapping";

const MAX_NODE_ISSUES = 3;

/** A state of the machine: label, key, badges, follow-up condition, issues, current-state mark. */
function StateNodeView({ data, selected }: NodeProps<StateNodeType>) {
  const { state, issues, isActive, scoringMode } = data;
  const key = state.state_key;
  const outcome =
    scoringMode === "pass_fail" && state.is_terminal_state ? (state.terminal_outcome ?? "ACCEPT") : null;
  const cls = [
    "fg-state",
    state.is_initial_state ? "fg-state--initial" : "",
    state.is_terminal_state ? "fg-state--terminal" : "",
    issues.length ? "fg-state--invalid" : "",
    isActive ? "fg-state--active" : "",
    selected ? "fg-state--selected" : "",
  ]
    .filter(Boolean)
    .join(" ");
  const followUp = state.follow_up_condition?.trim();
  return (
    <div className={cls} aria-current={isActive ? "step" : undefined} data-testid={`state-node-${key}`}>
      <Handle
        type="target"
        position={Position.Left}
        id="in"
        className="fg-handle fg-handle--in"
        data-testid={`target-handle-${key}`}
        aria-label={`Connect into ${key}`}
      />
      {isActive && <div className="fg-state__current">Current state</div>}
      <div className="fg-state__head">
        <div className="fg-state__label" title={state.label ?? key}>
          {state.label?.trim() ? state.label : <span className="fg-muted">(no label)</span>}
        </div>
        <code className="fg-state__key">{key}</code>
      </div>
      {(state.is_initial_state || state.is_terminal_state || outcome) && (
        <div className="fg-badges">
          {state.is_initial_state && <span className="fg-badge fg-badge--initial">▶ Initial</span>}
          {state.is_terminal_state && <span className="fg-badge fg-badge--terminal">■ Terminal</span>}
          {outcome && <span className={`fg-badge fg-badge--outcome fg-outcome--${outcome}`}>{outcome}</span>}
        </div>
      )}
      {followUp && (
        <div className="fg-state__followup" title={`Follow-up condition: ${followUp}`}>
          <span className="fg-icon-followup" aria-hidden="true">?</span>
          <span className="fg-sr-only">Follow-up condition: </span>
          <span className="fg-state__followup-text">{followUp}</span>
        </div>
      )}
      {issues.length > 0 && (
        <ul className="fg-state__issues" aria-label={`Problems in state ${key}`}>
          {issues.slice(0, MAX_NODE_ISSUES).map((i, n) => (
            <li key={n} title={i.path}>
              {i.message}
            </li>
          ))}
          {issues.length > MAX_NODE_ISSUES && <li>+{issues.length - MAX_NODE_ISSUES} more</li>}
        </ul>
      )}
      <Handle
        type="source"
        position={Position.Right}
        id="out"
        className={`fg-handle fg-handle--out${state.is_terminal_state ? " fg-handle--off" : ""}`}
        isConnectableStart={!state.is_terminal_state}
        data-testid={`source-handle-${key}`}
        aria-label={state.is_terminal_state ? `${key} is terminal: no outgoing transitions` : `Drag to connect from ${key}`}
      />
    </div>
  );
}

export const StateNode = memo(StateNodeView);
