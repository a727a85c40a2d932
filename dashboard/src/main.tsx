import { lazy, StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { createBrowserRouter, RouterProvider } from "react-router";
import { AuthProvider } from "./auth/AuthProvider";
import { LlmProvider } from "./components/llm";
import { Layout } from "./components/Layout";
import { SignInPage } from "./pages/SignInPage";
import { PersonasPage } from "./pages/PersonasPage";
import { ApiKeysPage } from "./pages/ApiKeysPage";
import { SessionsPage } from "./pages/SessionsPage";
import { SessionDetailPage } from "./pages/SessionDetailPage";
import { NotFoundPage } from "./pages/NotFoundPage";
import { UsagePage } from "./pages/UsagePage";
import "./styles.css";

// The editor pulls in the graph library: load it only when a persona is opened.
const EditorPage = lazy(() => import("./editor/EditorPage"));

const router = createBrowserRouter([
  { path: "/signin", element: <SignInPage /> },
  {
    element: <Layout />,
    children: [
      { path: "/", element: <PersonasPage /> },
      { path: "/personas/new", element: <EditorPage /> },
      { path: "/personas/:personaId", element: <EditorPage /> },
      { path: "/personas/:personaId/sessions", element: <SessionsPage /> },
      { path: "/personas/:personaId/sessions/:sessionId", element: <SessionDetailPage /> },
      { path: "/api-keys", element: <ApiKeysPage /> },
      { path: "/usage", element: <UsagePage /> },
      { path: "*", element: <NotFoundPage /> },
    ],
  },
]);

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <AuthProvider>
      <LlmProvider>
        <RouterProvider router={router} />
      </LlmProvider>
    </AuthProvider>
  </StrictMode>,
);
