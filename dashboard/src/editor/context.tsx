import { createContext, useContext } from "react";
import type { ValidationIssue } from "../api/types";

export interface EditorCtx {
  issues: ValidationIssue[];
  personaName: string;
}

export const EditorContext = createContext<EditorCtx>({ issues: [], personaName: "" });
export const useEditor = () => useContext(EditorContext);
