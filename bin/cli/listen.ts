/**
 * `hookline listen --forward-to URL`: a temporary webhook pointing at a local receiver, one line per
 * delivery attempt as it happens, and the webhook removed again when the command stops. Everything
 * goes through the HTTP API with a tenant's key, so it works wherever that API reaches the receiver.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Command } from "commander";
import type { HooklineClient, HooklineSchema } from "../../client/index.ts";
import { answer, apiClientOf, apiKeyOption } from "./api.ts";
import { connect } from "./context.ts";
import { formatDuration, formatFields } from "./output.ts";

/** With --json, one JSON object a line, as `tail --json` prints. */
function printJsonLine(value: unknown): void {
  console.log(JSON.stringify(value));
}

type WebhookView = HooklineSchema<"Webhook">;
type DeliveryView = HooklineSchema<"Delivery">;
type AttemptView = HooklineSchema<"DeliveryWithAttempts">["attempts"][number];
interface Page<T> {
  readonly data: readonly T[];
  readonly next_cursor: string | null;
}

/** The metadata that marks a webhook as a `listen` one, and until when it is kept. */
export const TEMPORARY_KEY = "hookline_listen";
export const EXPIRES_KEY = "hookline_listen_expires_at";

/**
 * A running `listen` pushes its webhook's expiry this far ahead, every `RENEW_EVERY_MS`: one that was
 * killed (no chance to remove its webhook) leaves a webhook that a later `listen` removes once expired.
 */
const KEEP_FOR_MS = 5 * 60_000;
const RENEW_EVERY_MS = 60_000;

/** Polling starts quick and backs off while nothing happens. */
const FIRST_POLL_MS = 250;
const SLOWEST_POLL_MS = 2_000;

const TERMINAL = new Set(["delivered", "failed", "dead_lettered"]);

export function temporaryMetadata(now: Date): Record<string, string> {
  return { [TEMPORARY_KEY]: "temporary", [EXPIRES_KEY]: new Date(now.getTime() + KEEP_FOR_MS).toISOString() };
}

/** A webhook a `listen` made and nobody renewed in time: its listener is gone. */
export function isAbandoned(webhook: Pick<WebhookView, "metadata">, now: Date): boolean {
  if (webhook.metadata[TEMPORARY_KEY] !== "temporary") return false;
  const expires = Date.parse(webhook.metadata[EXPIRES_KEY] ?? "");
  return Number.isNaN(expires) || expires <= now.getTime();
}

/** `→ memory.created evt_01K… 200 34 ms`, with the attempt number after the first and any error. */
export function attemptLine(delivery: Pick<DeliveryView, "event_type" | "event_id">, attempt: AttemptView) {
  const line = [
    "→",
    delivery.event_type,
    delivery.event_id,
    attempt.status_code === null ? "---" : String(attempt.status_code),
    formatDuration(attempt.duration_ms),
    ...(attempt.attempt > 1 ? [`(attempt ${attempt.attempt})`] : []),
  ].join(" ");
  return attempt.error === null ? line : `${line}  ${attempt.error}`;
}

/** Every page of a listing, following `next_cursor` from the first page (`cursor` undefined). */
async function listAll<T>(page: (cursor: string | undefined) => Promise<Page<T>>): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  do {
    const { data, next_cursor } = await page(cursor);
    items.push(...data);
    cursor = next_cursor ?? undefined;
  } while (cursor !== undefined);
  return items;
}

/** Removes the webhooks earlier `listen`s left behind when they were killed; returns how many. */
async function removeAbandoned(api: HooklineClient, now: Date): Promise<number> {
  const webhooks = await listAll((cursor) =>
    answer(api.GET("/v1/webhooks", { params: { query: { limit: 100, cursor } } })),
  );
  const abandoned = webhooks.filter((webhook) => isAbandoned(webhook, now));
  for (const webhook of abandoned) {
    await api.DELETE("/v1/webhooks/{webhookId}", { params: { path: { webhookId: webhook.id } } });
  }
  return abandoned.length;
}

/**
 * What the watcher knows of each delivery: attempts already printed, and whether it ended. The listing
 * is read from the oldest delivery still under way (or the newest seen), so it stays short.
 */
class Watch {
  readonly #seen = new Map<string, { attempts: number; ended: boolean; createdAt: string }>();
  readonly #startedAt: string;

  constructor(startedAt: Date) {
    this.#startedAt = startedAt.toISOString();
  }

  /** Where the next listing starts: the oldest delivery still under way, else the newest seen. */
  since(): string {
    const created = (includeEnded: boolean) =>
      [...this.#seen.values()]
        .filter((delivery) => includeEnded || !delivery.ended)
        .map((delivery) => delivery.createdAt);
    return created(false).sort()[0] ?? created(true).sort().at(-1) ?? this.#startedAt;
  }

  /** How many of `delivery`'s attempts were printed already. */
  printed(delivery: DeliveryView): number {
    return this.#seen.get(delivery.id)?.attempts ?? 0;
  }

  saw(delivery: DeliveryView): void {
    this.#seen.set(delivery.id, {
      attempts: delivery.attempt_count,
      ended: TERMINAL.has(delivery.status),
      createdAt: delivery.created_at,
    });
  }
}

/** Prints each new attempt of the webhook's deliveries until `signal` aborts. */
async function follow(
  api: HooklineClient,
  webhookId: string,
  signal: AbortSignal,
  print: (delivery: DeliveryView, attempt: AttemptView) => void,
): Promise<void> {
  const watch = new Watch(new Date());
  let renewedAt = Date.now();
  let waitMs = FIRST_POLL_MS;
  while (!signal.aborted) {
    const since = watch.since();
    const deliveries = await listAll((cursor) =>
      answer(
        api.GET("/v1/webhooks/{webhookId}/deliveries", {
          params: { path: { webhookId }, query: { limit: 100, since, cursor } },
          signal,
        }),
      ),
    );
    let changed = false;
    // Oldest first, so that lines come out in the order the attempts were made.
    for (const delivery of [...deliveries].reverse()) {
      const printed = watch.printed(delivery);
      if (delivery.attempt_count <= printed) {
        watch.saw(delivery);
        continue;
      }
      // The detail may be newer than the listing: what it shows is what counts as printed.
      const detail = await answer(
        api.GET("/v1/webhooks/{webhookId}/deliveries/{deliveryId}", {
          params: { path: { webhookId, deliveryId: delivery.id } },
          signal,
        }),
      );
      for (const attempt of detail.attempts.filter((a) => a.attempt > printed)) print(detail, attempt);
      watch.saw(detail);
      changed = true;
    }
    if (Date.now() - renewedAt >= RENEW_EVERY_MS) {
      await api.PATCH("/v1/webhooks/{webhookId}", {
        params: { path: { webhookId } },
        body: { metadata: temporaryMetadata(new Date()) },
        signal,
      });
      renewedAt = Date.now();
    }
    waitMs = changed ? FIRST_POLL_MS : Math.min(waitMs * 2, SLOWEST_POLL_MS);
    await sleep(waitMs, undefined, { signal }).catch(() => undefined);
  }
}

export function listenCommand(program: Command): void {
  program
    .command("listen")
    .description(
      "forward events to a local receiver through a temporary webhook, printing each attempt (Ctrl-C to stop and remove it)",
    )
    .requiredOption("--forward-to <url>", "where to send the events, e.g. http://localhost:4000/hooks")
    .option("--events <patterns>", "event types to forward, comma-separated (e.g. 'memory.*')", "*")
    .addOption(apiKeyOption())
    .action(async (options: { forwardTo: string; events: string; apiKey?: string }, command: Command) => {
      const { target, json } = await connect(command);
      const api = apiClientOf(target, options.apiKey);
      const removed = await removeAbandoned(api, new Date());
      if (removed > 0) {
        console.error(
          `removed ${removed} temporary webhook${removed === 1 ? "" : "s"} left by a stopped listen`,
        );
      }
      const eventTypes = options.events
        .split(",")
        .map((pattern) => pattern.trim())
        .filter(Boolean);
      const webhook = await answer(
        api.POST("/v1/webhooks", {
          body: {
            url: options.forwardTo,
            event_types: eventTypes,
            description: "hookline listen (temporary: removed when it stops)",
            metadata: temporaryMetadata(new Date()),
          },
        }),
      );

      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once("SIGINT", onSignal);
      process.once("SIGTERM", onSignal);
      if (json)
        printJsonLine({
          webhook_id: webhook.id,
          secret: webhook.secret,
          forward_to: webhook.url,
          event_types: eventTypes,
        });
      else {
        console.log(
          `Ready: forwarding ${eventTypes.join(", ")} on ${target.description} to ${webhook.url} (Ctrl-C to stop)`,
        );
        for (const line of formatFields([
          ["webhook", `${webhook.id} (temporary: removed when you stop)`],
          ["signing secret", webhook.secret],
        ]))
          console.log(line);
      }
      try {
        await follow(api, webhook.id, stop.signal, (delivery, attempt) => {
          if (!json) console.log(attemptLine(delivery, attempt));
          else
            printJsonLine({
              delivery_id: delivery.id,
              event_id: delivery.event_id,
              event_type: delivery.event_type,
              ...attempt,
            });
        });
      } catch (error) {
        if (!stop.signal.aborted) throw error;
      } finally {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
        await api.DELETE("/v1/webhooks/{webhookId}", { params: { path: { webhookId: webhook.id } } });
        console.error(`stopped: removed webhook ${webhook.id}`);
      }
    });
}
