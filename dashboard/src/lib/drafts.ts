// Unsaved editor drafts, kept in localStorage per persona so that an expired session, a
// reload or a crash never loses edits.
import type { PersonaDocument } from "../api/types";

export interface Draft {
  doc: PersonaDocument;
  savedAt: number;
}

const PREFIX = "foil.draft.";

export function draftKey(personaId: string | null): string {
  return PREFIX + (personaId ?? "new");
}

export function loadDraft(personaId: string | null): Draft | null {
  try {
    const raw = localStorage.getItem(draftKey(personaId));
    if (!raw) return null;
    const d = JSON.parse(raw) as Draft;
    return d && typeof d === "object" && d.doc && typeof d.doc === "object" ? d : null;
  } catch {
    return null;
  }
}

export function saveDraft(personaId: string | null, doc: PersonaDocument): void {
  try {
    localStorage.setItem(draftKey(personaId), JSON.stringify({ doc, savedAt: Date.now() }));
  } catch {
    /* quota or privacy mode: the in-memory draft still exists */
  }
}

export function clearDraft(personaId: string | null): void {
  try {
    localStorage.removeItem(draftKey(personaId));
  } catch {
    /* ignore */
  }
}
