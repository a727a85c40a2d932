import { describe, expect, it } from "vitest";
import { ApiError, parseApiError } from "./errors";

describe("parseApiError", () => {
  it("reads the standard error body, with validation details", () => {
    const e = parseApiError(400, {
      error: {
        code: "invalid_persona",
        message: "The persona document is invalid",
        details: [{ path: "persona.name", message: "must not be empty" }, { bad: true }],
      },
    });
    expect(e).toBeInstanceOf(ApiError);
    expect(e.status).toBe(400);
    expect(e.code).toBe("invalid_persona");
    expect(e.message).toBe("The persona document is invalid");
    expect(e.details).toEqual([{ path: "persona.name", message: "must not be empty" }]);
  });

  it("reads the 429 shape and Retry-After", () => {
    const e = parseApiError(429, { error: "Rate limit exceeded. Try again in 12 seconds." }, "12");
    expect(e.code).toBe("rate_limited");
    expect(e.message).toMatch(/Rate limit/);
    expect(e.retryAfter).toBe(12);
  });

  it("falls back for text and empty bodies", () => {
    expect(parseApiError(502, "Bad gateway").message).toBe("Bad gateway");
    expect(parseApiError(500, null).message).toBe("Request failed (HTTP 500)");
    expect(parseApiError(0, null).message).toMatch(/could not be reached/);
    expect(parseApiError(404, { error: { message: "" } }).message).toBe("Request failed (HTTP 404)");
  });

  it("tells sign-in failures from rejected LLM keys", () => {
    expect(parseApiError(401, { error: { code: "invalid_token", message: "x" } }).isAuthFailure).toBe(true);
    expect(parseApiError(401, { error: { code: "llm_key_invalid", message: "x" } }).isAuthFailure).toBe(false);
    expect(parseApiError(403, { error: { code: "forbidden", message: "x" } }).isAuthFailure).toBe(false);
  });
});
