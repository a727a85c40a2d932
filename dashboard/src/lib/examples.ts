// The example personas, bundled at build time straight from examples/personas/ (one source of
// truth); each file is its own lazily loaded chunk.
import { detectFormat, parseDocument } from "./document";
import type { PersonaDocument } from "../api/types";

const files = import.meta.glob("../../../examples/personas/*.{json,yaml}", {
  query: "?raw",
  import: "default",
}) as Record<string, () => Promise<string>>;

export interface ExampleInfo {
  file: string;
  load: () => Promise<PersonaDocument>;
}

export const examples: ExampleInfo[] = Object.keys(files)
  .sort()
  .map((path) => {
    const file = path.split("/").pop() ?? path;
    return {
      file,
      load: async () => parseDocument(await files[path](), detectFormat("", file)),
    };
  });
