// The API reference at /docs: Scalar's standalone bundle, served from the binary like the rest
// of the dashboard (nothing is loaded from the internet; see `offlineScalar` in
// vite.config.ts), pointed at /openapi.json.
import "./docs.css";
import scalarUrl from "virtual:scalar";

declare global {
  interface Window {
    Scalar?: { createApiReference: (selector: string, config: Record<string, unknown>) => unknown };
  }
}

const script = document.createElement("script");
script.src = scalarUrl;
// Everything that would reach scalar.com is off: its web fonts (system fonts instead), its
// request proxy (the "try it" client calls our own origin directly) and its AI agent.
script.onload = () =>
  window.Scalar?.createApiReference("#api-reference", {
    url: "/openapi.json",
    withDefaultFonts: false,
    proxyUrl: "",
    agent: { disabled: true },
    telemetry: false,
  });
document.head.appendChild(script);
