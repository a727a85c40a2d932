// The state-machine graph can be edited without a mouse: add a state, connect it through the
// inspector's "Add transition" form, see the new transition's problem at its field, fix it,
// and delete both again, every control reached by its label and worked with the keyboard.
import { test } from "node:test";
import assert from "node:assert/strict";
import { newPage, signUp, useBrowser, waitNoProblems } from "./harness.mjs";

useBrowser();

test("edit the graph with the keyboard", async () => {
  const { page, shot, done } = await newPage();
  await signUp(page);
  await page.getByRole("button", { name: "From example" }).click();
  await page.getByRole("dialog", { name: "Start from an example" }).getByRole("button", { name: /Grumpy Barista/ }).click();
  await waitNoProblems(page);
  const graph = page.getByRole("region", { name: "State machine graph" });
  const transitions = async () => Number(/(\d+) transitions/.exec(await page.getByRole("toolbar", { name: "Graph tools" }).getByText(/\d+ states · \d+ transitions/).innerText())[1]);
  const before = await transitions();

  await page.getByRole("button", { name: "Add state" }).focus();
  await page.keyboard.press("Enter");
  await graph.getByTestId("state-node-S_NEW_1").waitFor();

  // The new state is selected: connect the initial state to it from COUNTER's inspector.
  await graph.getByRole("group", { name: "State COUNTER" }).focus();
  await page.keyboard.press("Enter");
  const inspector = page.getByRole("region", { name: "Inspector" });
  await inspector.getByLabel("State key").waitFor();
  assert.equal(await inspector.getByLabel("State key").inputValue(), "COUNTER");
  await inspector.getByLabel("To state").selectOption("S_NEW_1");
  await inspector.getByRole("button", { name: "Add transition" }).focus();
  await page.keyboard.press("Enter");
  const condition = inspector.getByLabel("Condition");
  await condition.waitFor();
  assert.equal(await transitions(), before + 1);
  // Validation runs as you type (a round trip to creator/validate): wait for the problem.
  await inspector.getByRole("alert").filter({ hasText: "the condition must not be empty" }).waitFor();
  assert.equal(await condition.getAttribute("aria-invalid"), "true");
  await shot("editor-keyboard-problem");

  await condition.focus();
  await page.keyboard.type("the player asks for the secret menu");
  await inspector.getByRole("alert").filter({ hasText: "the condition must not be empty" }).waitFor({ state: "detached" });

  // Delete the experiment again: the transition (back to its state), then the new state.
  await inspector.getByRole("button", { name: "Delete transition" }).focus();
  await page.keyboard.press("Enter");
  assert.equal(await transitions(), before);
  await graph.getByRole("group", { name: "State S_NEW_1" }).focus();
  await page.keyboard.press("Enter");
  await inspector.getByRole("button", { name: "Delete state" }).focus();
  await page.keyboard.press("Enter");
  await graph.getByTestId("state-node-S_NEW_1").waitFor({ state: "detached" });
  await waitNoProblems(page);
  await done();
});
