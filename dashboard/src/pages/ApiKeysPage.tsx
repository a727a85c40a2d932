import { useCallback, useEffect, useId, useState } from "react";
import { api } from "../api";
import { errorMessage } from "../api/errors";
import type { ApiKeyInfo, CreatedApiKey, KeyScope } from "../api/types";
import { ConfirmDialog, Dialog } from "../components/Dialog";
import { formatTime, relativeTime } from "../components/format";

/** What each key scope is for, in a creator's words. */
const SCOPE_LABELS: Record<KeyScope, string> = {
  full: "Game build (all SDK routes)",
  mint: "Game backend (mints player tokens)",
};

export function ApiKeysPage() {
  const [keys, setKeys] = useState<ApiKeyInfo[] | null>(null);
  const [name, setName] = useState("");
  const [scope, setScope] = useState<KeyScope>("full");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [created, setCreated] = useState<CreatedApiKey | null>(null);
  const [toRevoke, setToRevoke] = useState<ApiKeyInfo | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const id = useId();

  const refresh = useCallback(async () => {
    try {
      setKeys(await api.apiKeys());
    } catch (e) {
      setError(errorMessage(e));
    }
  }, []);
  useEffect(() => {
    document.title = "API keys · Foil Studio";
    void refresh();
  }, [refresh]);

  async function create() {
    setBusy(true);
    setError(null);
    setNotice(null);
    try {
      const k = await api.createApiKey(name.trim(), scope);
      setCreated(k);
      setName("");
      await refresh();
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  }

  async function revoke(k: ApiKeyInfo) {
    setBusy(true);
    try {
      await api.revokeApiKey(k.id);
      setToRevoke(null);
      setNotice(`Revoked “${k.name}”. Games using it are refused at once.`);
      await refresh();
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="page">
      <div className="page-header">
        <div>
          <h1>API keys</h1>
          <p className="subtitle">
            Your game talks to your <em>published</em> personas with an API key, sent as the <code>X-API-Key</code>{" "}
            header. A game that should not ship a long-lived key gets short-lived <em>player tokens</em> from its
            own backend instead, which holds a key used for minting them.
          </p>
        </div>
      </div>
      <form
        className="inline-form card"
        onSubmit={(e) => {
          e.preventDefault();
          void create();
        }}
      >
        <label htmlFor={`${id}-name`}>Key name</label>
        <input
          id={`${id}-name`}
          value={name}
          required
          maxLength={100}
          placeholder="e.g. My game (production)"
          onChange={(e) => setName(e.target.value)}
        />
        <label htmlFor={`${id}-scope`}>Used by</label>
        <select id={`${id}-scope`} value={scope} onChange={(e) => setScope(e.target.value as KeyScope)}>
          <option value="full">{SCOPE_LABELS.full}</option>
          <option value="mint">{SCOPE_LABELS.mint}</option>
        </select>
        <button type="submit" className="primary" disabled={busy || !name.trim()}>
          Create key
        </button>
      </form>
      {error && <p className="error" role="alert">{error}</p>}
      {notice && <p className="notice" role="status">{notice}</p>}
      {keys === null && !error && <p role="status">Loading…</p>}
      {keys && keys.length === 0 && <p className="empty">No API keys yet.</p>}
      {keys && keys.length > 0 && (
        <table className="table">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Key</th>
              <th scope="col">Used by</th>
              <th scope="col">Created</th>
              <th scope="col">Last used</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {keys.map((k) => (
              <tr key={k.id}>
                <td>{k.name}</td>
                <td>
                  <code>
                    {k.key_prefix}…{k.key_hint}
                  </code>
                </td>
                <td>{SCOPE_LABELS[k.scope ?? "full"]}</td>
                <td>
                  <time dateTime={k.created_at} title={formatTime(k.created_at)}>
                    {relativeTime(k.created_at)}
                  </time>
                </td>
                <td>{k.last_used_at ? <time dateTime={k.last_used_at}>{relativeTime(k.last_used_at)}</time> : "never"}</td>
                <td className="row-actions">
                  <button type="button" className="small danger-ghost" onClick={() => setToRevoke(k)}>
                    Revoke
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {created && <CreatedKeyDialog created={created} onClose={() => setCreated(null)} />}
      {toRevoke && (
        <ConfirmDialog
          title="Revoke API key?"
          message={
            <p>
              Games using “<strong>{toRevoke.name}</strong>” ({toRevoke.key_prefix}…{toRevoke.key_hint}) will be refused
              immediately. This cannot be undone.
            </p>
          }
          confirmLabel="Revoke"
          danger
          busy={busy}
          onCancel={() => setToRevoke(null)}
          onConfirm={() => void revoke(toRevoke)}
        />
      )}
    </section>
  );
}

function CreatedKeyDialog(props: { created: CreatedApiKey; onClose: () => void }) {
  const [copied, setCopied] = useState<null | "ok" | "failed">(null);
  const id = useId();
  async function copy() {
    try {
      await navigator.clipboard.writeText(props.created.key);
      setCopied("ok");
    } catch {
      const input = document.getElementById(`${id}-key`) as HTMLInputElement | null;
      input?.select();
      setCopied("failed");
    }
  }
  return (
    <Dialog title="Your new API key" onClose={props.onClose}>
      <p className="warning" role="note">
        This key is shown only this once. Copy it now and keep it somewhere safe: we store only a hash of it.
      </p>
      <label htmlFor={`${id}-key`}>API key “{props.created.name}”</label>
      <div className="copy-row">
        <input id={`${id}-key`} readOnly value={props.created.key} className="mono" onFocus={(e) => e.target.select()} />
        <button type="button" onClick={copy}>
          Copy
        </button>
      </div>
      <p role="status" className="hint">
        {copied === "ok" ? "Copied to the clipboard." : copied === "failed" ? "Press Ctrl+C to copy the selected key." : ""}
      </p>
      <div className="dialog-actions">
        <button type="button" className="primary" onClick={props.onClose}>
          Done
        </button>
      </div>
    </Dialog>
  );
}
