import { html } from "htm/preact";
import { useEffect, useState } from "preact/hooks";
import {
  type Api,
  DELIVERY_STATUSES,
  type Delivery,
  type DeliveryDetail,
  type DeliveryQuery,
  type Page,
} from "../api.ts";
import { canWrite, type Session, seesEvents } from "../session.ts";
import {
  ErrorMessage,
  formatTime,
  Json,
  Loading,
  maskSignatures,
  messageOf,
  StatusBadge,
  TableBox,
  useLoad,
} from "../ui.ts";

const FIRST_POLL_MS = 2_000;
const MAX_POLL_MS = 30_000;

/**
 * Loads now, then again and again: after FIRST_POLL_MS while something changes, backing off to
 * MAX_POLL_MS while nothing does, and not at all while the tab is hidden.
 */
function usePolled<T>(
  load: () => Promise<T>,
  fingerprint: (value: T) => string,
  deps: readonly unknown[],
  live = true,
) {
  const [state, setState] = useState<{ data?: T; error?: string }>({});
  const [round, setRound] = useState(0);
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let delay = FIRST_POLL_MS;
    let last: string | undefined;
    const tick = async () => {
      if (!document.hidden) {
        try {
          const data = await load();
          if (stopped) return;
          const print = fingerprint(data);
          delay = print === last ? Math.min(delay * 2, MAX_POLL_MS) : FIRST_POLL_MS;
          last = print;
          setState({ data });
        } catch (error) {
          if (stopped) return;
          delay = Math.min(delay * 2, MAX_POLL_MS);
          setState((previous) => ({ ...previous, error: messageOf(error) }));
        }
      }
      if (live && !stopped) timer = setTimeout(tick, delay);
    };
    setState({});
    void tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [...deps, round, live]);
  return { ...state, reload: () => setRound((value) => value + 1) };
}

const printOf = (page: Page<Delivery>) =>
  page.data.map((d) => `${d.id}:${d.status}:${d.attempt_count}`).join(",") + (page.next_cursor ?? "");

interface Filters {
  readonly status: string;
  readonly eventType: string;
  readonly since: string;
  readonly until: string;
}

const NO_FILTERS: Filters = { status: "", eventType: "", since: "", until: "" };

function queryOf(filters: Filters, cursor: string | undefined): DeliveryQuery {
  const iso = (local: string) => (local === "" ? undefined : new Date(local).toISOString());
  const since = iso(filters.since);
  const until = iso(filters.until);
  const status = DELIVERY_STATUSES.find((known) => known === filters.status);
  return {
    ...(status === undefined ? {} : { status }),
    ...(filters.eventType === "" ? {} : { event_type: filters.eventType }),
    ...(since === undefined ? {} : { since }),
    ...(until === undefined ? {} : { until }),
    ...(cursor === undefined ? {} : { cursor }),
  };
}

function FilterForm({ initial, onApply }: { initial: Filters; onApply: (filters: Filters) => void }) {
  const [draft, setDraft] = useState(initial);
  const field = (name: keyof Filters) => (e: Event) =>
    setDraft({ ...draft, [name]: (e.target as HTMLInputElement | HTMLSelectElement).value });
  return html`<form class="filters" onSubmit=${(e: Event) => {
    e.preventDefault();
    onApply(draft);
  }}>
    <div><label for="filter-status">Status</label>
      <select id="filter-status" value=${draft.status} onChange=${field("status")}>
        <option value="">any</option>
        ${DELIVERY_STATUSES.map((status) => html`<option value=${status}>${status.replace("_", " ")}</option>`)}
      </select></div>
    <div><label for="filter-type">Event type</label>
      <input id="filter-type" value=${draft.eventType} onInput=${field("eventType")} placeholder="order.created" /></div>
    <div><label for="filter-since">From</label>
      <input id="filter-since" type="datetime-local" value=${draft.since} onInput=${field("since")} /></div>
    <div><label for="filter-until">Until</label>
      <input id="filter-until" type="datetime-local" value=${draft.until} onInput=${field("until")} /></div>
    <div class="filter-buttons"><button type="submit">Apply filters</button></div>
  </form>`;
}

export function DeliveriesPage({ api, webhookId }: { api: Api; webhookId: string }) {
  const [filters, setFilters] = useState(NO_FILTERS);
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors[cursors.length - 1];
  const page = usePolled(() => api.deliveries(webhookId, queryOf(filters, cursor)), printOf, [
    webhookId,
    filters,
    cursor,
  ]);
  return html`<p><a href=${`#/webhooks/${webhookId}`}>← Webhook</a></p>
    <h1>Deliveries</h1>
    <${FilterForm} initial=${filters} onApply=${(next: Filters) => {
      setFilters(next);
      setCursors([]);
    }} />
    <p class="muted" aria-live="off">Updates by itself: checked every few seconds while deliveries change, less often while they do not.</p>
    <${ErrorMessage} error=${page.error} />
    ${page.data === undefined ? html`<${Loading} what="deliveries" />` : null}
    ${
      page.data !== undefined && page.data.data.length === 0
        ? html`<p>No deliveries${filters === NO_FILTERS ? " yet" : " match these filters"}.</p>`
        : null
    }
    ${
      page.data !== undefined && page.data.data.length > 0
        ? html`<${TableBox} label="Deliveries">
      <table>
        <thead><tr><th scope="col">Created</th><th scope="col">Event type</th><th scope="col">Status</th>
          <th scope="col">Attempts</th><th scope="col">Last answer</th><th scope="col">Delivery</th></tr></thead>
        <tbody aria-live="polite">${page.data.data.map(
          (delivery) => html`<tr key=${delivery.id} data-delivery=${delivery.id}>
            <td>${formatTime(delivery.created_at)}</td>
            <td>${delivery.event_type}</td>
            <td><${StatusBadge} status=${delivery.status} /></td>
            <td>${delivery.attempt_count}</td>
            <td>${delivery.last_status_code ?? delivery.last_error ?? "—"}</td>
            <td><a href=${`#/webhooks/${webhookId}/deliveries/${delivery.id}`}>Open <span class="visually-hidden">delivery ${delivery.id}</span></a></td>
          </tr>`,
        )}</tbody>
      </table>
    <//>`
        : null
    }
    <div class="pager">
      ${cursors.length === 0 ? null : html`<button type="button" onClick=${() => setCursors(cursors.slice(0, -1))}>Previous page</button>`}
      ${page.data?.next_cursor ? html`<button type="button" onClick=${() => setCursors([...cursors, page.data?.next_cursor ?? ""])}>Next page</button>` : null}
    </div>`;
}

function Payload({ api, session, delivery }: { api: Api; session: Session; delivery: DeliveryDetail }) {
  const request = delivery.request ?? undefined;
  const event = useLoad(
    () =>
      request === undefined && seesEvents(session)
        ? api.event(delivery.event_id)
        : Promise.resolve(undefined),
    [delivery.event_id, request === undefined],
  );
  if (request !== undefined) {
    const body = (() => {
      try {
        return JSON.parse(request.body) as unknown;
      } catch {
        return request.body;
      }
    })();
    return html`<section aria-labelledby="request-heading" class="card">
      <h2 id="request-heading">Request sent</h2>
      <p><code>${request.method} ${request.url}</code></p>
      <h3>Headers (signatures masked)</h3>
      <${Json} label="Headers sent" value=${maskSignatures(request.headers)} />
      <h3>Payload</h3>
      <${Json} label="Payload sent" value=${body} />
    </section>`;
  }
  return html`<section aria-labelledby="request-heading" class="card">
    <h2 id="request-heading">Payload</h2>
    ${event.data === undefined && !event.loading ? html`<p class="muted">The payload is shown to API keys and links for the whole tenant.</p>` : null}
    ${event.data === undefined ? null : html`<${Json} label="Payload sent" value=${{ id: event.data.id, type: event.data.type, timestamp: event.data.accepted_at, data: event.data.data }} />`}
    <${ErrorMessage} error=${event.error} />
  </section>`;
}

export function DeliveryPage({
  api,
  session,
  webhookId,
  deliveryId,
}: {
  api: Api;
  session: Session;
  webhookId: string;
  deliveryId: string;
}) {
  const loaded = usePolled(
    () => api.delivery(webhookId, deliveryId),
    (d) => `${d.status}:${d.attempt_count}`,
    [webhookId, deliveryId],
  );
  const [error, setError] = useState<string>();
  const [retried, setRetried] = useState(false);
  const delivery = loaded.data;
  if (delivery === undefined) {
    return html`<h1>Delivery</h1><${Loading} what="the delivery" /><${ErrorMessage} error=${loaded.error} />`;
  }
  const retry = async () => {
    setError(undefined);
    try {
      await api.retryDelivery(webhookId, deliveryId);
      setRetried(true);
      loaded.reload();
    } catch (failure) {
      setError(messageOf(failure));
    }
  };
  const retryable = delivery.status === "failed" || delivery.status === "dead_lettered";
  return html`<p><a href=${`#/webhooks/${webhookId}/deliveries`}>← Deliveries</a></p>
    <h1>Delivery <code>${delivery.id}</code></h1>
    <section aria-labelledby="summary-heading" class="card">
      <h2 id="summary-heading">Summary</h2>
      <dl class="fields">
        <dt>Status</dt><dd data-testid="delivery-status"><${StatusBadge} status=${delivery.status} /></dd>
        <dt>Event</dt><dd>${seesEvents(session) ? html`<a href=${`#/events/${delivery.event_id}`}>${delivery.event_id}</a>` : delivery.event_id} (${delivery.event_type})</dd>
        <dt>Created</dt><dd>${formatTime(delivery.created_at)}</dd>
        <dt>Completed</dt><dd>${formatTime(delivery.completed_at)}</dd>
        <dt>Next attempt</dt><dd>${formatTime(delivery.next_attempt_at)}</dd>
      </dl>
      ${retryable && canWrite(session) ? html`<button type="button" onClick=${retry}>Retry delivery</button>` : null}
      ${retried ? html`<p role="status">Queued again.</p>` : null}
      <${ErrorMessage} error=${error} />
    </section>
    <section aria-labelledby="attempts-heading" class="card">
      <h2 id="attempts-heading">Attempts</h2>
      ${delivery.attempts_omitted > 0 ? html`<p class="muted">${delivery.attempts_omitted} attempts in the middle are no longer kept.</p>` : null}
      ${
        delivery.attempts.length === 0
          ? html`<p>No attempt yet.</p>`
          : html`<${TableBox} label="Attempts"><table>
          <thead><tr><th scope="col">#</th><th scope="col">Time</th><th scope="col">Status code</th><th scope="col">Duration</th>
            <th scope="col">Error</th><th scope="col">Response (excerpt)</th></tr></thead>
          <tbody>${delivery.attempts.map(
            (attempt) => html`<tr>
              <td>${attempt.attempt}</td><td>${formatTime(attempt.at)}</td><td>${attempt.status_code ?? "—"}</td>
              <td>${Math.round(attempt.duration_ms)} ms</td><td>${attempt.error ?? "—"}</td>
              <td><code class="excerpt">${attempt.response_body || "—"}</code></td>
            </tr>`,
          )}</tbody>
        </table><//>`
      }
    </section>
    <${Payload} api=${api} session=${session} delivery=${delivery} />`;
}
