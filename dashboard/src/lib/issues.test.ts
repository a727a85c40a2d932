import { describe, expect, it } from "vitest";
import { describePath, fieldId, issuesAt, issuesUnder, locate, parsePath, targetOf } from "./issues";

describe("issue paths", () => {
  it("parses paths with indexes", () => {
    expect(parsePath("machines[0].states[12].state_key")).toEqual([
      { name: "machines", index: 0 },
      { name: "states", index: 12 },
      { name: "state_key", index: null },
    ]);
    expect(parsePath("")).toEqual([]);
  });

  it("locates every kind of path", () => {
    expect(locate("persona.name")).toEqual({ kind: "identity", field: "name" });
    expect(locate("variables[2].key")).toEqual({ kind: "variables", index: 2, field: "key" });
    expect(locate("machines[0].creator_objective")).toEqual({ kind: "machine", machine: 0, field: "creator_objective" });
    expect(locate("machines[1].states[3].prompt_instruction")).toEqual({ kind: "state", machine: 1, state: 3, field: "prompt_instruction" });
    expect(locate("machines[0].transitions[1].condition")).toEqual({ kind: "transition", machine: 0, transition: 1, field: "condition" });
    expect(locate("machines[0].output_variables[0].key")).toEqual({ kind: "output_variable", machine: 0, index: 0, field: "key" });
    expect(locate("machine_links[0].condition_value")).toEqual({ kind: "link", index: 0, field: "condition_value" });
    expect(locate("machines")).toEqual({ kind: "document" });
    expect(locate("")).toEqual({ kind: "document" });
    expect(locate("extra_key")).toEqual({ kind: "document" });
  });

  it("targets the editor section that shows the issue", () => {
    expect(targetOf("persona.identity_prompt")).toEqual({ section: "identity", machine: null, fieldId: "field-persona-identity_prompt" });
    expect(targetOf("variables[2].key")).toEqual({ section: "variables", machine: null, fieldId: "field-variables-2-key" });
    expect(targetOf("machines[1].pass_threshold")).toEqual({ section: "settings", machine: 1, fieldId: "field-machines-1-pass_threshold" });
    expect(targetOf("machines[0].states")).toEqual({ section: "graph", machine: 0, fieldId: null });
    expect(targetOf("machines[0].states[3].prompt_instruction").section).toBe("graph");
    expect(targetOf("machines[0].transitions[1].condition")).toEqual({ section: "graph", machine: 0, fieldId: null });
    expect(targetOf("machines[0].output_variables[1].extraction_prompt").section).toBe("settings");
    expect(targetOf("machine_links[0].condition_value").section).toBe("links");
    expect(targetOf("nonsense").section).toBe("document");
  });

  it("field ids match the ids the form fields use", () => {
    expect(fieldId("machines[0].output_variables[1].key")).toBe("field-machines-0-output_variables-1-key");
  });

  it("filters issues exactly and by prefix", () => {
    const issues = [
      { path: "machines[1].name", message: "a" },
      { path: "machines[10].name", message: "b" },
      { path: "machines[1]", message: "c" },
      { path: "persona.name", message: "d" },
    ];
    expect(issuesAt(issues, "machines[1].name").map((i) => i.message)).toEqual(["a"]);
    expect(issuesUnder(issues, "machines[1]").map((i) => i.message)).toEqual(["a", "c"]);
  });

  it("describes places for people", () => {
    expect(describePath("machines[0].states[1].label", { machines: ["Order a coffee"] })).toBe("Order a coffee › state 2 › label");
    expect(describePath("persona.identity_prompt")).toBe("Identity › identity prompt");
  });
});
