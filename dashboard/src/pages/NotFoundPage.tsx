import { Link } from "react-router";

export function NotFoundPage() {
  return (
    <section className="page narrow">
      <h1>Page not found</h1>
      <p>
        There is nothing here. <Link to="/">Back to your personas</Link>
      </p>
    </section>
  );
}
