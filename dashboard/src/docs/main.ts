// The API reference at /docs: Scalar's standalone bundle, served from the binary like the rest
// of the dashboard (nothing is loaded from the internet; see `offlineScalar` in
// vite.config.ts), pointed at /openapi.json.
import "./docs.css";
import scalarUrl from "virtual:scalar";

declare global {
  interface Window {
    Scalar?: { createApiReference: (selector: string, config: { url: string }) => unknown };
  }
}

const script = document.createElement("script");
script.src = scalarUrl;
script.onload = () => window.Scalar?.createApiReference("#api-reference", { url: "/openapi.json" });
document.head.appendChild(script);
