import { useEffect, useId, useMemo, useState } from "react";
import { api } from "../api";
import { errorMessage } from "../api/errors";
import type { ApiKeyInfo, PersonaSummary, UsageGroup, UsageReport, UsageRow } from "../api/types";

const GROUPS: { value: NonNullable<UsageGroup>; label: string }[] = [
  { value: "day", label: "Day" },
  { value: "persona", label: "Persona" },
  { value: "key", label: "API key" },
  { value: "model", label: "Model" },
  { value: "step", label: "Pipeline step" },
];

const RANGES = [
  { days: 1, label: "Today" },
  { days: 7, label: "Last 7 days" },
  { days: 30, label: "Last 30 days" },
];

function isoDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}

const number = new Intl.NumberFormat();

/** The account's LLM usage (GET /api/v1/usage): tokens, calls and turns, grouped. */
export function UsagePage() {
  const [group, setGroup] = useState<NonNullable<UsageGroup>>("day");
  const [days, setDays] = useState(30);
  const [report, setReport] = useState<UsageReport | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [personas, setPersonas] = useState<PersonaSummary[]>([]);
  const [keys, setKeys] = useState<ApiKeyInfo[]>([]);
  const id = useId();

  useEffect(() => {
    document.title = "Usage · Foil Studio";
    // Names for persona and key ids; the report stands without them.
    api.myPersonas().then((p) => setPersonas(p), () => undefined);
    api.apiKeys().then((k) => setKeys(k), () => undefined);
  }, []);

  useEffect(() => {
    let cancelled = false;
    const to = new Date();
    const from = new Date(to.getTime() - (days - 1) * 86_400_000);
    setError(null);
    api
      .usage({ from: isoDay(from), to: isoDay(to), group_by: group })
      .then((r) => !cancelled && setReport(r))
      .catch((e) => !cancelled && setError(errorMessage(e)));
    return () => {
      cancelled = true;
    };
  }, [group, days]);

  const label = useMemo(() => {
    const personaNames = new Map(personas.map((p) => [p.id, p.name]));
    const keyNames = new Map(keys.map((k) => [k.id, k.name]));
    return (row: UsageRow): string => {
      if (group === "persona") return row.group ? (personaNames.get(row.group) ?? `deleted persona ${row.group.slice(0, 8)}`) : "Generation (no persona)";
      if (group === "key") return row.group ? (keyNames.get(row.group) ?? `revoked key ${row.group.slice(0, 8)}`) : "Web chat and the studio (no key)";
      return row.group || "—";
    };
  }, [group, personas, keys]);

  const groupLabel = GROUPS.find((g) => g.value === group)?.label ?? "Group";
  return (
    <section className="page">
      <div className="page-header">
        <div>
          <h1>Usage</h1>
          <p className="subtitle">
            LLM tokens your personas used — games through your API keys, web chat, playtests and AI drafting. Days are UTC.
          </p>
        </div>
      </div>
      <div className="inline-form card">
        <label htmlFor={`${id}-group`}>Group by</label>
        <select id={`${id}-group`} value={group} onChange={(e) => setGroup(e.target.value as NonNullable<UsageGroup>)}>
          {GROUPS.map((g) => (
            <option key={g.value} value={g.value}>
              {g.label}
            </option>
          ))}
        </select>
        <label htmlFor={`${id}-range`}>Period</label>
        <select id={`${id}-range`} value={days} onChange={(e) => setDays(Number(e.target.value))}>
          {RANGES.map((r) => (
            <option key={r.days} value={r.days}>
              {r.label}
            </option>
          ))}
        </select>
      </div>
      {error && <p className="error" role="alert">{error}</p>}
      {!report && !error && <p role="status">Loading…</p>}
      {report && report.rows.length === 0 && <p className="empty">No LLM calls in this period.</p>}
      {report && report.rows.length > 0 && (
        <table className="table" aria-label={`Usage by ${groupLabel.toLowerCase()}`}>
          <thead>
            <tr>
              <th scope="col">{groupLabel}</th>
              <th scope="col">Calls</th>
              <th scope="col">Turns</th>
              <th scope="col">Input tokens</th>
              <th scope="col">Output tokens</th>
              <th scope="col">Mean latency</th>
            </tr>
          </thead>
          <tbody>
            {report.rows.map((row) => (
              <tr key={row.group}>
                <th scope="row">{label(row)}</th>
                <td>{number.format(row.calls)}</td>
                <td>{number.format(row.turns)}</td>
                <td>
                  {number.format(row.input_tokens)}
                  {row.estimated_calls > 0 && <span className="hint" title={`${row.estimated_calls} calls without provider counts`}> (est.)</span>}
                </td>
                <td>{number.format(row.output_tokens)}</td>
                <td>{row.calls > 0 ? `${number.format(row.mean_latency_ms)} ms` : "—"}</td>
              </tr>
            ))}
          </tbody>
          <tfoot>
            <tr>
              <th scope="row">Total</th>
              <td>{number.format(report.total.calls)}</td>
              <td>{number.format(report.total.turns)}</td>
              <td>{number.format(report.total.input_tokens)}</td>
              <td>{number.format(report.total.output_tokens)}</td>
              <td>{report.total.calls > 0 ? `${number.format(report.total.mean_latency_ms)} ms` : "—"}</td>
            </tr>
          </tfoot>
        </table>
      )}
    </section>
  );
}
