import { type Command, Option } from "commander";
import { NotFoundError } from "../../functions/domain/errors.ts";
import { sentView } from "../../functions/domain/sent-request.ts";
import { DELIVERY_STATUSES, deliveryDetailResource, deliveryResource } from "../../functions/http/schemas.ts";
import { retryDelivery } from "../../functions/services/recovery.ts";
import packageJson from "../../package.json" with { type: "json" };
import type { Target } from "../target.ts";
import { connect, storesOf, tenantOption, webhookOption, wholeNumber } from "./context.ts";
import { cell, formatDuration, formatFields, printJson, printLines, tableOrEmpty } from "./output.ts";

interface WebhookOptions {
  readonly tenant: string;
  readonly webhook: string;
}

/** Fails with "not found" for a webhook the tenant does not have, so an empty list means no deliveries. */
async function requireWebhook(target: Target, { tenant, webhook }: WebhookOptions): Promise<void> {
  if (!(await storesOf(target).webhooks().get(tenant, webhook))) {
    throw new NotFoundError(`webhook ${webhook} not found for tenant ${tenant}`);
  }
}

export function deliveryCommands(program: Command): void {
  const deliveries = program.command("deliveries").description("look at, and retry, a webhook's deliveries");

  deliveries
    .command("list")
    .description("a webhook's deliveries, newest first")
    .addOption(tenantOption(true))
    .addOption(webhookOption())
    .addOption(new Option("--status <status>", "only deliveries with this status").choices(DELIVERY_STATUSES))
    .addOption(new Option("--limit <n>", "at most this many").argParser(wholeNumber(1, 1000)).default(50))
    .action(
      async (
        options: WebhookOptions & { status?: (typeof DELIVERY_STATUSES)[number]; limit: number },
        command: Command,
      ) => {
        const { target, json } = await connect(command);
        await requireWebhook(target, options);
        const found = await storesOf(target)
          .deliveries()
          .list(options.tenant, options.webhook, {
            limit: options.limit,
            ...(options.status ? { status: options.status } : {}),
          });
        const data = found.map(deliveryResource);
        if (json) {
          printJson({ data });
          return;
        }
        printLines(
          tableOrEmpty(
            ["DELIVERY", "EVENT", "TYPE", "STATUS", "ATTEMPTS", "CODE", "CREATED", "LAST ERROR"],
            data.map((d) => [
              d.id,
              d.event_id,
              d.event_type,
              d.status,
              String(d.attempt_count),
              cell(d.last_status_code),
              d.created_at,
              cell(d.last_error),
            ]),
            options.status ? `no ${options.status} deliveries` : "no deliveries",
          ),
        );
      },
    );

  deliveries
    .command("get")
    .description("one delivery with its attempts, and its latest request as sent (signatures masked)")
    .argument("<delivery-id>")
    .addOption(tenantOption(true))
    .addOption(webhookOption())
    .action(async (deliveryId: string, options: WebhookOptions, command: Command) => {
      const { target, json } = await connect(command);
      const stores = storesOf(target);
      const delivery = await stores.deliveries().get(options.tenant, options.webhook, deliveryId);
      if (!delivery)
        throw new NotFoundError(`delivery ${deliveryId} not found on webhook ${options.webhook}`);
      const webhooks = stores.webhooks();
      const events = stores.events();
      const sent = await sentView(
        {
          webhook: (tenantId, webhookId) => webhooks.get(tenantId, webhookId, true),
          revisionAfter: (tenantId, webhookId, version) =>
            webhooks.revisionAfter(tenantId, webhookId, version),
          eventPayload: (tenantId, eventId) => events.payload(tenantId, eventId),
          // The functions send the version they were deployed with, which is this checkout's.
          userAgent: `Hookline/${packageJson.version}`,
        },
        delivery,
      );
      const { request, attempts, ...resource } = deliveryDetailResource(delivery, sent);
      if (json) {
        printJson({ ...resource, request, attempts });
        return;
      }
      printLines(
        formatFields([
          ["delivery", resource.id],
          ["webhook", resource.webhook_id],
          ["event", `${resource.event_id} (${resource.event_type})`],
          ["status", resource.status],
          ["attempts", String(resource.attempt_count)],
          ["last status code", cell(resource.last_status_code) || undefined],
          ["last error", resource.last_error ?? undefined],
          ["next attempt", resource.next_attempt_at ?? undefined],
          ["created", resource.created_at],
          ["completed", resource.completed_at ?? undefined],
        ]),
      );
      if (attempts.length > 0) {
        console.log("");
        printLines(
          tableOrEmpty(
            ["ATTEMPT", "AT", "CODE", "DURATION", "ERROR", "RESPONSE"],
            attempts.map((a) => [
              "url" in a ? `${a.attempt} (to ${a.url})` : String(a.attempt),
              a.at,
              cell(a.status_code),
              formatDuration(a.duration_ms),
              cell(a.error),
              a.response_body.replace(/\s+/g, " ").slice(0, 60),
            ]),
            "",
          ),
        );
      }
      if (request) {
        console.log("");
        printLines([
          `${request.method} ${request.url}`,
          ...Object.entries(request.headers).map(([name, value]) => `${name}: ${value}`),
          "",
          request.body,
        ]);
      }
    });

  deliveries
    .command("retry")
    .description(
      "send a failed or dead_lettered delivery again with a fresh schedule (same webhook-id, new signature)",
    )
    .argument("<delivery-id>")
    .addOption(tenantOption(true))
    .addOption(webhookOption())
    .action(async (deliveryId: string, options: WebhookOptions, command: Command) => {
      const { target, json } = await connect(command);
      const reopened = await retryDelivery(
        {
          deliveries: storesOf(target).deliveries(),
          queue: storesOf(target).queue(),
          now: () => new Date(),
        },
        options.tenant,
        options.webhook,
        deliveryId,
      );
      if (json) printJson(deliveryResource(reopened));
      else console.log(`retrying ${deliveryId}: queued again with a fresh schedule on ${target.description}`);
    });
}
