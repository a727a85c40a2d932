import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import {
  DocumentParseError,
  blankDocument,
  detectFormat,
  duplicateDocument,
  fileNameFor,
  parseDocument,
  serializeDocument,
  stripIds,
} from "./document";
import { examples } from "./examples";

const dir = resolve(__dirname, "../../../examples/personas");
const files = readdirSync(dir).filter((f) => /\.(json|ya?ml)$/.test(f));

describe("example personas", () => {
  it("are all bundled (six of them)", () => {
    expect(examples.map((e) => e.file).sort()).toEqual(files.sort());
    expect(examples.length).toBe(6);
  });

  for (const file of files) {
    it(`${file} round-trips through JSON and YAML`, async () => {
      const text = readFileSync(join(dir, file), "utf8");
      const doc = parseDocument(text, detectFormat(text, file));
      expect(doc.persona.name).toBeTruthy();
      for (const format of ["json", "yaml"] as const) {
        const again = parseDocument(serializeDocument(doc, format), format);
        expect(again).toEqual(doc);
      }
      // JSON → YAML → JSON text is stable too.
      const json = serializeDocument(doc, "json");
      expect(serializeDocument(parseDocument(serializeDocument(parseDocument(json, "json"), "yaml"), "yaml"), "json")).toBe(json);
      const bundled = examples.find((e) => e.file === file)!;
      expect(await bundled.load()).toEqual(doc);
    });
  }
});

describe("parseDocument", () => {
  it("reports JSON and YAML syntax errors", () => {
    expect(() => parseDocument('{"persona": ', "json")).toThrow(DocumentParseError);
    expect(() => parseDocument("persona: [unclosed\n", "yaml")).toThrow(/Invalid YAML/);
    expect(() => parseDocument("a: 1\na: 2\n", "yaml")).toThrow(DocumentParseError);
  });
  it("checks the top-level shape", () => {
    expect(() => parseDocument("[]", "json")).toThrow(/object/);
    expect(() => parseDocument('{"machines": []}', "json")).toThrow(/persona/);
    expect(() => parseDocument('{"persona": {}}', "json")).toThrow(/machines/);
  });
  it("fills in missing transitions lists", () => {
    const d = parseDocument('{"persona": {"name": "x", "identity_prompt": "y"}, "machines": [{"machine_key": "m", "name": "M", "states": []}]}', "json");
    expect(d.machines[0].transitions).toEqual([]);
  });
  it("detects the format", () => {
    expect(detectFormat("{}", "x.yaml")).toBe("yaml");
    expect(detectFormat("persona:", "x.json")).toBe("json");
    expect(detectFormat("  {")).toBe("json");
    expect(detectFormat("persona:\n")).toBe("yaml");
  });
});

describe("document helpers", () => {
  it("strips ids at every level and keeps positions", () => {
    const d = blankDocument();
    const withIds = {
      ...d,
      persona: { ...d.persona, id: "p" },
      machines: d.machines.map((m) => ({ ...m, id: "m", states: m.states.map((s) => ({ ...s, position: { x: 1, y: 2 } })) })),
    };
    const clean = stripIds(withIds);
    expect(JSON.stringify(clean)).not.toMatch(/"id"/);
    expect(clean.machines[0].states[0].position).toEqual({ x: 1, y: 2 });
  });
  it("duplicates as an unpublished copy", () => {
    const d = blankDocument();
    d.persona.is_published = true;
    const c = duplicateDocument(d);
    expect(c.persona.name).toBe("New persona (copy)");
    expect(c.persona.is_published).toBe(false);
  });
  it("names downloads", () => {
    const d = blankDocument();
    d.persona.name = "Duchess Valérie!";
    expect(fileNameFor(d, "yaml")).toBe("duchess_valerie.yaml");
    d.persona.name = "<img>";
    expect(fileNameFor(d, "json")).toBe("img.json");
  });
});
