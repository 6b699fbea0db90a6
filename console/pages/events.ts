import { html } from "htm/preact";
import { useState } from "preact/hooks";
import type { Api } from "../api.ts";
import { ErrorMessage, formatTime, Json, Loading, StatusBadge, TableBox, useLoad } from "../ui.ts";

export function EventsPage({ api }: { api: Api }) {
  const [type, setType] = useState("");
  const [applied, setApplied] = useState("");
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors[cursors.length - 1];
  const page = useLoad(
    () =>
      api.events({
        ...(applied === "" ? {} : { type: applied }),
        ...(cursor === undefined ? {} : { cursor }),
      }),
    [applied, cursor],
  );
  return html`<h1>Events</h1>
    <form class="filters" onSubmit=${(e: Event) => {
      e.preventDefault();
      setApplied(type);
      setCursors([]);
    }}>
      <div><label for="events-type">Event type</label>
        <input id="events-type" value=${type} onInput=${(e: Event) => setType((e.target as HTMLInputElement).value)} /></div>
      <div class="filter-buttons"><button type="submit">Apply filter</button></div>
    </form>
    <${ErrorMessage} error=${page.error} />
    ${page.data === undefined ? html`<${Loading} what="events" />` : null}
    ${page.data !== undefined && page.data.data.length === 0 ? html`<p>No events.</p>` : null}
    ${
      page.data !== undefined && page.data.data.length > 0
        ? html`<${TableBox} label="Events"><table>
        <thead><tr><th scope="col">Accepted</th><th scope="col">Type</th><th scope="col">Source</th>
          <th scope="col">Deliveries</th><th scope="col">Event</th></tr></thead>
        <tbody>${page.data.data.map(
          (event) => html`<tr key=${event.id}>
            <td>${formatTime(event.accepted_at)}</td><td>${event.type}</td><td>${event.source}</td>
            <td>${event.deliveries ?? "fanning out"}</td>
            <td><a href=${`#/events/${event.id}`}>${event.id}</a></td>
          </tr>`,
        )}</tbody>
      </table><//>`
        : null
    }
    <div class="pager">
      ${cursors.length === 0 ? null : html`<button type="button" onClick=${() => setCursors(cursors.slice(0, -1))}>Previous page</button>`}
      ${page.data?.next_cursor ? html`<button type="button" onClick=${() => setCursors([...cursors, page.data?.next_cursor ?? ""])}>Next page</button>` : null}
    </div>`;
}

export function EventPage({ api, eventId }: { api: Api; eventId: string }) {
  const loaded = useLoad(() => api.event(eventId), [eventId]);
  const event = loaded.data;
  if (event === undefined) {
    return html`<h1>Event</h1>${loaded.loading ? html`<${Loading} what="the event" />` : null}<${ErrorMessage} error=${loaded.error} />`;
  }
  return html`<p><a href="#/events">← Events</a></p>
    <h1>Event <code>${event.id}</code></h1>
    <dl class="fields card">
      <dt>Type</dt><dd>${event.type}</dd>
      <dt>Accepted</dt><dd>${formatTime(event.accepted_at)}</dd>
      <dt>Source</dt><dd>${event.source}</dd>
    </dl>
    <section aria-labelledby="event-data-heading" class="card">
      <h2 id="event-data-heading">Data</h2>
      <${Json} label="Event data" value=${event.data} />
    </section>
    <section aria-labelledby="event-deliveries-heading" class="card">
      <h2 id="event-deliveries-heading">Deliveries</h2>
      ${
        event.deliveries.length === 0
          ? html`<p>No webhook took this event.</p>`
          : html`<${TableBox} label="Deliveries of this event"><table>
          <thead><tr><th scope="col">Webhook</th><th scope="col">Status</th><th scope="col">Attempts</th>
            <th scope="col">Last status code</th><th scope="col">Delivery</th></tr></thead>
          <tbody>${event.deliveries.map(
            (delivery) => html`<tr key=${delivery.id}>
              <td><a href=${`#/webhooks/${delivery.webhook_id}`}>${delivery.webhook_id}</a></td>
              <td><${StatusBadge} status=${delivery.status} /></td><td>${delivery.attempt_count}</td>
              <td>${delivery.last_status_code ?? "—"}</td>
              <td><a href=${`#/webhooks/${delivery.webhook_id}/deliveries/${delivery.id}`}>${delivery.id}</a></td>
            </tr>`,
          )}</tbody>
        </table><//>`
      }
    </section>`;
}

export function EventTypesPage({ api }: { api: Api }) {
  const catalogue = useLoad(() => api.eventTypes(), []);
  return html`<h1>Event types</h1>
    <${ErrorMessage} error=${catalogue.error} />
    ${catalogue.data === undefined ? html`<${Loading} what="the catalogue" />` : null}
    ${
      catalogue.data === undefined
        ? null
        : html`<${TableBox} label="Event types"><table>
        <thead><tr><th scope="col">Name</th><th scope="col">Description</th></tr></thead>
        <tbody>${catalogue.data.data.map((type) => html`<tr key=${type.name}><td><code>${type.name}</code></td><td>${type.description}</td></tr>`)}</tbody>
      </table><//>`
    }`;
}
