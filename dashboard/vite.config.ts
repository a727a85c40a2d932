import { readFileSync } from "node:fs";
import { defineConfig, type Plugin } from "vitest/config";

/**
 * Scalar's standalone bundle (the API reference at /docs) as a hashed asset, with its
 * @font-face rules renamed so the browser never fetches Scalar's fonts from its CDN: nothing
 * the server serves may load anything from the internet. `import url from "virtual:scalar"`.
 */
function offlineScalar(): Plugin {
  const bundle = new URL("node_modules/@scalar/api-reference/dist/browser/standalone.js", import.meta.url);
  return {
    name: "offline-scalar",
    resolveId: (id) => (id === "virtual:scalar" ? "\0virtual:scalar" : null),
    load(id) {
      if (id !== "\0virtual:scalar") return null;
      // Its @font-face rules point at fonts.scalar.com: point them at local() fonts instead, so
      // the page never asks the internet (system fonts are used when those are absent).
      const source = readFileSync(bundle, "utf8").replace(/url\(https:\/\/fonts\.scalar\.com\/[^)]*\)( format\([^)]*\))?/g, 'local("scalar-offline")');
      const ref = this.emitFile({ type: "asset", name: "scalar-standalone.js", source });
      return `export default import.meta.ROLLUP_FILE_URL_${ref};`;
    },
  };
}

// No @vitejs/plugin-react: esbuild compiles TSX with the automatic runtime, which is all the
// dashboard needs (no fast refresh in the committed build).
export default defineConfig({
  esbuild: { jsx: "automatic" },
  plugins: [offlineScalar()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsDir: "assets",
    // The build is committed: keep it reproducible and free of source maps.
    sourcemap: false,
    chunkSizeWarningLimit: 4000,
    rollupOptions: {
      input: { index: "index.html", docs: "docs.html" },
    },
  },
  test: {
    include: ["src/**/*.test.ts", "src/**/*.test.tsx"],
    environment: "node",
  },
});
