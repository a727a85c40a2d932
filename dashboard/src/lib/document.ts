// Persona documents as files: parse JSON or YAML (client-side, with readable errors),
// serialise to JSON or YAML, strip server ids, make blank documents and copies.
import { parse as parseYaml, stringify as stringifyYaml, YAMLParseError } from "yaml";
import type { Machine, PersonaDocument } from "../api/types";

export type DocFormat = "json" | "yaml";

export class DocumentParseError extends Error {
  readonly line: number | null;
  constructor(message: string, line: number | null = null) {
    super(message);
    this.name = "DocumentParseError";
    this.line = line;
  }
}

/** Guesses the format from a file name, else from the text (JSON starts with `{`). */
export function detectFormat(text: string, fileName?: string): DocFormat {
  const name = fileName?.toLowerCase() ?? "";
  if (name.endsWith(".yaml") || name.endsWith(".yml")) return "yaml";
  if (name.endsWith(".json")) return "json";
  return text.trimStart().startsWith("{") ? "json" : "yaml";
}

function lineOfOffset(text: string, offset: number): number {
  return text.slice(0, offset).split("\n").length;
}

/**
 * Parses a document. Only the syntax and the top-level shape are checked here (an object with
 * `persona` and `machines`); everything else is the server's validation's job.
 */
export function parseDocument(text: string, format: DocFormat): PersonaDocument {
  let value: unknown;
  if (format === "json") {
    try {
      value = JSON.parse(text);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      const pos = /position (\d+)/.exec(msg);
      const line = pos ? lineOfOffset(text, Number(pos[1])) : null;
      throw new DocumentParseError(`Invalid JSON: ${msg}`, line);
    }
  } else {
    try {
      value = parseYaml(text, { prettyErrors: true, uniqueKeys: true });
    } catch (e) {
      if (e instanceof YAMLParseError) {
        const line = e.linePos?.[0]?.line ?? null;
        throw new DocumentParseError(`Invalid YAML: ${e.message.split("\n")[0]}`, line);
      }
      throw new DocumentParseError(`Invalid YAML: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new DocumentParseError("A persona document must be an object with `persona` and `machines`.");
  }
  const obj = value as Record<string, unknown>;
  if (typeof obj.persona !== "object" || obj.persona === null || Array.isArray(obj.persona)) {
    throw new DocumentParseError("The document has no `persona` object.");
  }
  if (!Array.isArray(obj.machines)) {
    throw new DocumentParseError("The document has no `machines` list.");
  }
  return normalizeDocument(value as PersonaDocument);
}

/** Fills in the lists the editor relies on (a machine without `transitions` gets `[]`). */
export function normalizeDocument(doc: PersonaDocument): PersonaDocument {
  if (!Array.isArray(doc.machines)) return doc;
  const needs = doc.machines.some((m) => m && typeof m === "object" && (!Array.isArray(m.transitions) || !Array.isArray(m.states)));
  if (!needs) return doc;
  return {
    ...doc,
    machines: doc.machines.map((m) =>
      m && typeof m === "object"
        ? { ...m, states: Array.isArray(m.states) ? m.states : [], transitions: Array.isArray(m.transitions) ? m.transitions : [] }
        : m,
    ),
  };
}

export function serializeDocument(doc: PersonaDocument, format: DocFormat): string {
  if (format === "json") return JSON.stringify(doc, null, 2) + "\n";
  return stringifyYaml(doc, { lineWidth: 0 });
}

/** A deep copy without any `id` keys (what `personas/{id}/full` adds), for export and save. */
export function stripIds<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => stripIds(v)) as T;
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (k === "id") continue; // server-side ids are not part of the document
      out[k] = stripIds(v);
    }
    return out as T;
  }
  return value;
}

export function blankMachine(existingKeys: string[] = []): Machine {
  let n = existingKeys.length + 1;
  let key = n === 1 ? "main" : `scenario_${n}`;
  while (existingKeys.includes(key)) key = `scenario_${++n}`;
  return {
    machine_key: key,
    name: n === 1 ? "Main scenario" : `Scenario ${n}`,
    description: "",
    is_entry: existingKeys.length === 0,
    creator_objective: "",
    creator_win_condition: "",
    creator_lose_condition: "",
    chat_system_prompt: "",
    scoring_mode: "scoring",
    pass_threshold: 1,
    fail_threshold: -3,
    states: [
      {
        state_key: "START",
        label: "Start",
        prompt_instruction: "Greet the player.",
        is_initial_state: true,
        is_terminal_state: false,
        display_order: 0,
      },
      {
        state_key: "END",
        label: "End",
        prompt_instruction: "Say goodbye.",
        is_initial_state: false,
        is_terminal_state: true,
        display_order: 1,
      },
    ],
    transitions: [
      {
        from_state_key: "START",
        to_state_key: "END",
        decision_type: "pass",
        condition: "the player says goodbye",
        score_delta: 1,
        priority: 0,
      },
    ],
    output_variables: [],
  };
}

export function blankDocument(): PersonaDocument {
  return {
    persona: {
      name: "New persona",
      description: "",
      identity_prompt: "You are ...",
      is_public: false,
      is_published: false,
    },
    variables: [],
    machines: [blankMachine()],
    machine_links: [],
  };
}

/** A copy to save as a new persona: no ids, "(copy)" name, unpublished. */
export function duplicateDocument(doc: PersonaDocument): PersonaDocument {
  const copy = stripIds(doc);
  const name = `${copy.persona.name} (copy)`;
  copy.persona = { ...copy.persona, name: name.length > 100 ? name.slice(0, 100) : name, is_published: false };
  return copy;
}

/** A file name for downloads: "grumpy_barista.yaml". */
export function fileNameFor(doc: PersonaDocument, format: DocFormat): string {
  const base =
    (doc.persona?.name ?? "persona")
      .toLowerCase()
      .normalize("NFKD")
      .replace(/[\u0300-\u036f]/g, "")
      .replace(/[^a-z0-9]+/g, "_")
      .replace(/^_+|_+$/g, "") || "persona";
  return `${base}.${format === "json" ? "json" : "yaml"}`;
}

/** Triggers a browser download of `text`. */
export function downloadText(text: string, fileName: string, mime: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: mime }));
  const a = document.createElement("a");
  a.href = url;
  a.download = fileName;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function exportDocument(doc: PersonaDocument, format: DocFormat): void {
  const clean = stripIds(doc);
  downloadText(
    serializeDocument(clean, format),
    fileNameFor(clean, format),
    format === "json" ? "application/json" : "application/yaml",
  );
}
