import type { ValidationIssue } from "./types";

/** An HTTP error from the API, with the server's `error.code`, message and details. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: ValidationIssue[];
  readonly retryAfter: number | null;

  constructor(
    status: number,
    code: string,
    message: string,
    details: ValidationIssue[] = [],
    retryAfter: number | null = null,
  ) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
    this.retryAfter = retryAfter;
  }

  /** True for a 401 caused by our sign-in token (not a rejected LLM key). */
  get isAuthFailure(): boolean {
    return this.status === 401 && this.code !== "llm_key_invalid";
  }
}

function isIssue(v: unknown): v is ValidationIssue {
  return (
    typeof v === "object" &&
    v !== null &&
    typeof (v as ValidationIssue).path === "string" &&
    typeof (v as ValidationIssue).message === "string"
  );
}

/**
 * Builds an ApiError from a status and a parsed (or unparsable) body. Handles
 * `{"error": {"message", "code", "details"?}}`, the 429 shape `{"error": "text"}`, and
 * bodies that are not JSON at all.
 */
export function parseApiError(
  status: number,
  body: unknown,
  retryAfterHeader: string | null = null,
): ApiError {
  const retryAfter = retryAfterHeader && /^\d+$/.test(retryAfterHeader) ? Number(retryAfterHeader) : null;
  const fallback = status === 0 ? "The server could not be reached" : `Request failed (HTTP ${status})`;
  if (typeof body === "object" && body !== null && "error" in body) {
    const err = (body as { error: unknown }).error;
    if (typeof err === "string") {
      return new ApiError(status, status === 429 ? "rate_limited" : "error", err || fallback, [], retryAfter);
    }
    if (typeof err === "object" && err !== null) {
      const e = err as { message?: unknown; code?: unknown; details?: unknown };
      const message = typeof e.message === "string" && e.message ? e.message : fallback;
      const code = typeof e.code === "string" && e.code ? e.code : status === 429 ? "rate_limited" : "error";
      const details = Array.isArray(e.details) ? e.details.filter(isIssue) : [];
      return new ApiError(status, code, message, details, retryAfter);
    }
  }
  if (typeof body === "string" && body.trim() && body.length < 300) {
    return new ApiError(status, status === 429 ? "rate_limited" : "error", body.trim(), [], retryAfter);
  }
  return new ApiError(status, status === 429 ? "rate_limited" : "error", fallback, [], retryAfter);
}

/** Reads an error response's body (JSON or text) into an ApiError. */
export async function errorFromResponse(res: Response): Promise<ApiError> {
  let body: unknown = null;
  try {
    const text = await res.text();
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  } catch {
    body = null;
  }
  return parseApiError(res.status, body, res.headers.get("Retry-After"));
}

/** A human sentence for any thrown value. */
export function errorMessage(e: unknown): string {
  if (e instanceof ApiError) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}
