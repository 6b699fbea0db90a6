import { html } from "htm/preact";
import { useState } from "preact/hooks";
import type { Api, Webhook, WebhookStats, WebhookWithSecret } from "../api.ts";
import { canWrite, type Session } from "../session.ts";
import { ErrorMessage, Loading, messageOf, percent, TableBox, useLoad } from "../ui.ts";

/** A figure still on its way. */
const pending = () => html`<span aria-busy="true">…</span>`;

export function stateOf(webhook: Webhook): string {
  if (!webhook.active)
    return webhook.disabled_reason === null ? "paused" : `disabled: ${webhook.disabled_reason}`;
  return webhook.circuit_state === "closed"
    ? "active"
    : `active, circuit ${webhook.circuit_state.replace("_", "-")}`;
}

function Row({ api, webhook }: { api: Api; webhook: Webhook }) {
  const stats = useLoad<WebhookStats>(() => api.stats(webhook.id), [webhook.id]);
  return html`<tr>
    <td><a href=${`#/webhooks/${webhook.id}`}>${webhook.url}</a>
      ${webhook.description === "" ? null : html`<div class="muted">${webhook.description}</div>`}</td>
    <td>${webhook.event_types.join(", ")}</td>
    <td>${webhook.filter === null ? "—" : html`<code>${JSON.stringify(webhook.filter)}</code>`}</td>
    <td>${stateOf(webhook)}</td>
    <td>${stats.data === undefined ? pending() : percent(stats.data.success_rate)}</td>
    <td>${stats.data === undefined ? pending() : `${stats.data.last_24h_deliveries} (${percent(stats.data.last_24h_success_rate)})`}</td>
  </tr>`;
}

function CreateWebhook({ api, onCreated }: { api: Api; onCreated: () => void }) {
  const catalogue = useLoad(() => api.eventTypes(), []);
  const [url, setUrl] = useState("");
  const [types, setTypes] = useState<string[]>([]);
  const [description, setDescription] = useState("");
  const [error, setError] = useState<string>();
  const [created, setCreated] = useState<WebhookWithSecret>();

  const submit = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    try {
      const webhook = await api.createWebhook({
        url,
        event_types: types.length === 0 ? ["*"] : types,
        ...(description === "" ? {} : { description }),
      });
      setCreated(webhook);
      setUrl("");
      setTypes([]);
      setDescription("");
      onCreated();
    } catch (failure) {
      setError(messageOf(failure));
    }
  };
  const toggle = (name: string, on: boolean) =>
    setTypes((current) => (on ? [...current, name] : current.filter((type) => type !== name)));

  return html`<section aria-labelledby="create-heading" class="card">
    <h2 id="create-heading">Add a webhook</h2>
    <form onSubmit=${submit}>
      <label for="new-url">Endpoint URL</label>
      <input id="new-url" name="url" type="url" required value=${url} placeholder="https://example.com/webhooks"
        onInput=${(e: Event) => setUrl((e.target as HTMLInputElement).value)} />
      <label for="new-description">Description (optional)</label>
      <input id="new-description" name="description" value=${description}
        onInput=${(e: Event) => setDescription((e.target as HTMLInputElement).value)} />
      <fieldset>
        <legend>Event types (none ticked: every type)</legend>
        ${(catalogue.data?.data ?? []).map(
          (type) => html`<label class="check"><input type="checkbox" name="event_types" value=${type.name}
            checked=${types.includes(type.name)}
            onChange=${(e: Event) => toggle(type.name, (e.target as HTMLInputElement).checked)} /> ${type.name}</label>`,
        )}
      </fieldset>
      <button type="submit">Add webhook</button>
    </form>
    <${ErrorMessage} error=${error} />
    ${
      created === undefined
        ? null
        : html`<div class="notice" role="status">
            <p>Webhook created. Its signing secret is shown this once:</p>
            <p><code class="secret" data-testid="new-secret">${created.secret}</code></p>
            <p><a href=${`#/webhooks/${created.id}`}>Open the new webhook</a></p>
          </div>`
    }
  </section>`;
}

export function WebhooksPage({ api, session }: { api: Api; session: Session }) {
  const [cursor, setCursor] = useState<string>();
  const page = useLoad(() => api.webhooks(cursor), [cursor]);
  const tenantWide = session.portal?.webhookIds === undefined;
  return html`<h1>Webhooks</h1>
    ${page.loading && page.data === undefined ? html`<${Loading} what="webhooks" />` : null}
    <${ErrorMessage} error=${page.error} />
    ${
      page.data === undefined
        ? null
        : page.data.data.length === 0
          ? html`<p>No webhooks yet.</p>`
          : html`<${TableBox} label="Webhooks">
          <table>
            <thead><tr><th scope="col">Endpoint</th><th scope="col">Event types</th><th scope="col">Filter</th>
              <th scope="col">State</th><th scope="col">Success rate</th><th scope="col">Last 24 h</th></tr></thead>
            <tbody>${page.data.data.map((webhook) => html`<${Row} key=${webhook.id} api=${api} webhook=${webhook} />`)}</tbody>
          </table>
        <//>`
    }
    <div class="pager">
      ${cursor === undefined ? null : html`<button type="button" onClick=${() => setCursor(undefined)}>First page</button>`}
      ${page.data?.next_cursor ? html`<button type="button" onClick=${() => setCursor(page.data?.next_cursor ?? undefined)}>Next page</button>` : null}
    </div>
    ${canWrite(session) && tenantWide ? html`<${CreateWebhook} api=${api} onCreated=${page.reload} />` : null}`;
}
