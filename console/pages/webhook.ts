import { html } from "htm/preact";
import { useState } from "preact/hooks";
import type { Api, Delivery, TestResult, Webhook } from "../api.ts";
import { DeliveryChart } from "../chart.ts";
import { canWrite, type Session } from "../session.ts";
import { ErrorMessage, formatTime, Json, Loading, messageOf, percent, useLoad } from "../ui.ts";
import { stateOf } from "./webhooks.ts";

/** A figure still on its way. */
const pending = () => html`<span aria-busy="true">…</span>`;

const CHART_PAGES = 5;

/** The last 24 hours of deliveries, a few pages of them: enough for a chart, bounded in requests. */
async function lastDay(api: Api, webhookId: string): Promise<Delivery[]> {
  const since = new Date(Date.now() - 24 * 3_600_000).toISOString();
  const all: Delivery[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < CHART_PAGES; page++) {
    const result = await api.deliveries(webhookId, { since, limit: 100, ...(cursor ? { cursor } : {}) });
    all.push(...result.data);
    if (result.next_cursor === null) break;
    cursor = result.next_cursor;
  }
  return all;
}

function EditForm({ api, webhook, onSaved }: { api: Api; webhook: Webhook; onSaved: () => void }) {
  const [url, setUrl] = useState(webhook.url);
  const [description, setDescription] = useState(webhook.description);
  const [types, setTypes] = useState(webhook.event_types.join(", "));
  const [error, setError] = useState<string>();
  const submit = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    try {
      await api.updateWebhook(webhook.id, {
        url,
        description,
        event_types: types
          .split(",")
          .map((type) => type.trim())
          .filter((type) => type !== ""),
      });
      onSaved();
    } catch (failure) {
      setError(messageOf(failure));
    }
  };
  return html`<form onSubmit=${submit} class="card">
    <h2>Edit</h2>
    <label for="edit-url">Endpoint URL</label>
    <input id="edit-url" type="url" required value=${url} onInput=${(e: Event) => setUrl((e.target as HTMLInputElement).value)} />
    <label for="edit-description">Description</label>
    <input id="edit-description" value=${description} onInput=${(e: Event) => setDescription((e.target as HTMLInputElement).value)} />
    <label for="edit-types">Event types (comma-separated; <code>prefix.*</code> and <code>*</code> allowed)</label>
    <input id="edit-types" required value=${types} onInput=${(e: Event) => setTypes((e.target as HTMLInputElement).value)} />
    <button type="submit">Save changes</button>
    <${ErrorMessage} error=${error} />
  </form>`;
}

function Actions({ api, webhook, onChanged }: { api: Api; webhook: Webhook; onChanged: () => void }) {
  const [error, setError] = useState<string>();
  const [test, setTest] = useState<TestResult>();
  const [secret, setSecret] = useState<string>();
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [since, setSince] = useState("");
  const [recovered, setRecovered] = useState<string>();
  const run = (action: () => Promise<void>) => async () => {
    setError(undefined);
    try {
      await action();
    } catch (failure) {
      setError(messageOf(failure));
    }
  };
  const recover = async (event: Event) => {
    event.preventDefault();
    await run(async () => {
      const result = await api.recover(webhook.id, new Date(since).toISOString());
      setRecovered(
        `${result.recovering} deliveries queued again${result.next_since ? `; more remain, recover again from ${formatTime(result.next_since)}` : ""}.`,
      );
    })();
  };
  return html`<section aria-labelledby="actions-heading" class="card">
    <h2 id="actions-heading">Actions</h2>
    <div class="actions">
      <button type="button" onClick=${run(async () => {
        await api.updateWebhook(webhook.id, { active: !webhook.active });
        onChanged();
      })}>${webhook.active ? "Pause" : "Resume"}</button>
      <button type="button" onClick=${run(async () => setTest(await api.testWebhook(webhook.id)))}>Send a test event</button>
      <button type="button" onClick=${run(async () => setSecret((await api.rotateSecret(webhook.id)).secret))}>Rotate secret</button>
      ${
        confirmDelete
          ? html`<span role="group" aria-label="Confirm deletion">
              <button type="button" class="danger" onClick=${run(async () => {
                await api.deleteWebhook(webhook.id);
                window.location.hash = "#/webhooks";
              })}>Yes, delete this webhook</button>
              <button type="button" onClick=${() => setConfirmDelete(false)}>Cancel</button>
            </span>`
          : html`<button type="button" class="danger" onClick=${() => setConfirmDelete(true)}>Delete…</button>`
      }
    </div>
    <${ErrorMessage} error=${error} />
    ${
      test === undefined
        ? null
        : html`<div class=${test.success ? "notice" : "error"} role="status">
            <p>Test send ${test.success ? "succeeded" : "failed"}: ${test.status_code ?? "no answer"} in ${Math.round(test.duration_ms)} ms
              ${test.error === null ? "" : ` — ${test.error}`}</p>
            ${test.response_body === "" ? null : html`<${Json} label="Test response body" value=${test.response_body} />`}
          </div>`
    }
    ${
      secret === undefined
        ? null
        : html`<div class="notice" role="status">
            <p>New signing secret, shown this once (the previous one keeps signing for the overlap period):</p>
            <p><code class="secret" data-testid="new-secret">${secret}</code></p>
          </div>`
    }
    <form onSubmit=${recover} class="inline-form">
      <label for="recover-since">Recover failed deliveries since</label>
      <input id="recover-since" type="datetime-local" required value=${since}
        onInput=${(e: Event) => setSince((e.target as HTMLInputElement).value)} />
      <button type="submit">Recover</button>
    </form>
    ${recovered === undefined ? null : html`<p role="status">${recovered}</p>`}
  </section>`;
}

export function WebhookPage({ api, session, webhookId }: { api: Api; session: Session; webhookId: string }) {
  const loaded = useLoad(() => api.webhook(webhookId), [webhookId]);
  const stats = useLoad(() => api.stats(webhookId), [webhookId]);
  const day = useLoad(() => lastDay(api, webhookId), [webhookId]);
  const [editing, setEditing] = useState(false);
  const webhook = loaded.data;
  if (webhook === undefined) {
    return html`<h1>Webhook</h1>${loaded.loading ? html`<${Loading} what="the webhook" />` : null}
      <${ErrorMessage} error=${loaded.error} />`;
  }
  const changed = () => {
    setEditing(false);
    loaded.reload();
    stats.reload();
  };
  return html`<p><a href="#/webhooks">← Webhooks</a></p>
    <h1 class="break">${webhook.url}</h1>
    <p><a href=${`#/webhooks/${webhook.id}/deliveries`}>Deliveries of this webhook →</a></p>
    <section aria-labelledby="settings-heading" class="card">
      <h2 id="settings-heading">Settings</h2>
      <dl class="fields">
        <dt>Id</dt><dd><code>${webhook.id}</code></dd>
        <dt>State</dt><dd data-testid="webhook-state">${stateOf(webhook)}</dd>
        <dt>Event types</dt><dd>${webhook.event_types.join(", ")}</dd>
        <dt>Filter</dt><dd>${webhook.filter === null ? "none" : html`<code>${JSON.stringify(webhook.filter)}</code>`}</dd>
        <dt>Description</dt><dd>${webhook.description || "—"}</dd>
        <dt>Timeout</dt><dd>${webhook.timeout_seconds === null ? "the deployment's" : `${webhook.timeout_seconds} s`}</dd>
        <dt>Created</dt><dd>${formatTime(webhook.created_at)}</dd>
        <dt>Success rate</dt><dd>${stats.data === undefined ? pending() : `${percent(stats.data.success_rate)} of ${stats.data.total_deliveries}`}</dd>
        <dt>Last 24 h</dt><dd>${stats.data === undefined ? pending() : `${stats.data.last_24h_deliveries} deliveries, ${percent(stats.data.last_24h_success_rate)}`}</dd>
      </dl>
      ${canWrite(session) && !editing ? html`<button type="button" onClick=${() => setEditing(true)}>Edit settings</button>` : null}
    </section>
    ${editing ? html`<${EditForm} api=${api} webhook=${webhook} onSaved=${changed} />` : null}
    ${canWrite(session) ? html`<${Actions} api=${api} webhook=${webhook} onChanged=${changed} />` : null}
    <section aria-labelledby="chart-heading" class="card">
      <h2 id="chart-heading">Deliveries per hour</h2>
      ${day.data === undefined ? html`<${Loading} what="the chart" />` : html`<${DeliveryChart} deliveries=${day.data} />`}
      <${ErrorMessage} error=${day.error} />
    </section>`;
}
