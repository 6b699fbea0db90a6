/**
 * The Hookline web console: a small single-page app (preact + htm, no build-time JSX), routed by the
 * URL's fragment so that the one page at `/console/` serves every view.
 */
import { html, render } from "htm/preact";
import { useEffect, useMemo, useState } from "preact/hooks";
import { type Api, createApi } from "./api.ts";
import { DeliveriesPage, DeliveryPage } from "./pages/deliveries.ts";
import { EventPage, EventsPage, EventTypesPage } from "./pages/events.ts";
import { WebhookPage } from "./pages/webhook.ts";
import { WebhooksPage } from "./pages/webhooks.ts";
import { initialSession, type Session, seesEvents, signIn, signOut } from "./session.ts";
import { ErrorMessage, formatTime } from "./ui.ts";

function useRoute(): string[] {
  const read = () =>
    window.location.hash
      .replace(/^#\/?/, "")
      .split("/")
      .filter((part) => part !== "")
      .map(decodeURIComponent);
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const changed = () => {
      setRoute(read());
      window.scrollTo(0, 0);
    };
    window.addEventListener("hashchange", changed);
    return () => window.removeEventListener("hashchange", changed);
  }, []);
  return route;
}

function SignIn({
  onSignIn,
  problem,
}: {
  onSignIn: (session: Session) => void;
  problem?: string | undefined;
}) {
  const [key, setKey] = useState("");
  return html`<main id="main" class="sign-in">
    <h1>Hookline console</h1>
    <form onSubmit=${(e: Event) => {
      e.preventDefault();
      onSignIn(signIn(key.trim()));
    }}>
      <label for="api-key">API key</label>
      <input id="api-key" type="password" autocomplete="off" required value=${key}
        onInput=${(e: Event) => setKey((e.target as HTMLInputElement).value)} placeholder="hk_…" />
      <button type="submit">Sign in</button>
    </form>
    <p class="muted">The key stays in this tab only (session storage) and is sent to this API alone.</p>
    <${ErrorMessage} error=${problem} />
  </main>`;
}

function Page({ api, session, route }: { api: Api; session: Session; route: string[] }) {
  const [section, first, sub, second] = route;
  if (section === "webhooks" && first !== undefined && sub === "deliveries" && second !== undefined) {
    return html`<${DeliveryPage} api=${api} session=${session} webhookId=${first} deliveryId=${second} />`;
  }
  if (section === "webhooks" && first !== undefined && sub === "deliveries") {
    return html`<${DeliveriesPage} api=${api} webhookId=${first} />`;
  }
  if (section === "webhooks" && first !== undefined) {
    return html`<${WebhookPage} api=${api} session=${session} webhookId=${first} />`;
  }
  if (section === "events" && seesEvents(session)) {
    return first === undefined
      ? html`<${EventsPage} api=${api} />`
      : html`<${EventPage} api=${api} eventId=${first} />`;
  }
  if (section === "event-types") return html`<${EventTypesPage} api=${api} />`;
  return html`<${WebhooksPage} api=${api} session=${session} />`;
}

function App() {
  const [session, setSession] = useState<Session | undefined>(initialSession);
  const [problem, setProblem] = useState<string>();
  const route = useRoute();
  const api = useMemo(() => (session === undefined ? undefined : createApi(session.credential)), [session]);

  // A key or link the API refuses ends the session: back to the sign-in form, saying why.
  useEffect(() => {
    if (api === undefined || session === undefined) return;
    api.eventTypes().catch((error: unknown) => {
      if ((error as { status?: number }).status !== 401) return;
      signOut();
      setSession(undefined);
      setProblem(
        session.portal === undefined
          ? "This API key was refused: it is unknown or revoked."
          : "This portal link has expired or is not valid: ask for a new one.",
      );
    });
  }, [api, session]);

  if (session === undefined || api === undefined) {
    return html`<${SignIn} problem=${problem} onSignIn=${(next: Session) => {
      setProblem(undefined);
      setSession(next);
    }} />`;
  }
  const portal = session.portal;
  return html`<a class="skip" href="#main" onClick=${(e: Event) => {
    e.preventDefault();
    document.getElementById("main")?.focus();
  }}>Skip to content</a>
    <header>
      <nav aria-label="Console">
        <span class="brand">Hookline</span>
        <a href="#/webhooks">Webhooks</a>
        ${seesEvents(session) ? html`<a href="#/events">Events</a>` : null}
        <a href="#/event-types">Event types</a>
        <button type="button" class="link" onClick=${() => {
          signOut();
          setSession(undefined);
        }}>Sign out</button>
      </nav>
      ${
        portal === undefined
          ? null
          : html`<p class="portal-note" role="note">Portal link${portal.readOnly ? ", read-only" : ""}${portal.webhookIds === undefined ? "" : `, ${portal.webhookIds.length} webhook(s)`}; works until ${formatTime(portal.expiresAt.toISOString())}.</p>`
      }
    </header>
    <main id="main" tabindex="-1"><${Page} api=${api} session=${session} route=${route} /></main>`;
}

const root = document.getElementById("app");
if (root !== null) {
  root.replaceChildren();
  render(html`<${App} />`, root);
}
