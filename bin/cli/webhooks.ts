import type { Command } from "commander";
import { NotFoundError } from "../../functions/domain/errors.ts";
import { allWebhooks } from "../../functions/domain/webhooks.ts";
import { webhookResource } from "../../functions/http/schemas.ts";
import { connect, storesOf, tenantOption } from "./context.ts";
import { cell, formatFields, printJson, printLines, tableOrEmpty, truncated } from "./output.ts";

/** How much of a filter's compact JSON the list's table shows; `webhooks get` shows all of it. */
const FILTER_COLUMN_WIDTH = 40;

export function webhookCommands(program: Command): void {
  const webhooks = program.command("webhooks").description("look at a tenant's webhooks");

  webhooks
    .command("list")
    .description("every webhook of a tenant, active or not")
    .addOption(tenantOption(true))
    .action(async (options: { tenant: string }, command: Command) => {
      const { target, json } = await connect(command);
      const all = (await allWebhooks(storesOf(target).webhooks(), options.tenant)).map(webhookResource);
      if (json) {
        printJson({ data: all });
        return;
      }
      printLines(
        tableOrEmpty(
          ["ID", "URL", "EVENT TYPES", "FILTER", "ORDERING", "ACTIVE", "CIRCUIT", "CREATED"],
          all.map((webhook) => [
            webhook.id,
            webhook.url,
            webhook.event_types.join(","),
            webhook.filter === null ? "" : truncated(JSON.stringify(webhook.filter), FILTER_COLUMN_WIDTH),
            webhook.ordering,
            webhook.active ? "yes" : `no${webhook.disabled_reason ? ` (${webhook.disabled_reason})` : ""}`,
            webhook.circuit_state,
            webhook.created_at,
          ]),
          `tenant ${options.tenant} has no webhooks`,
        ),
      );
    });

  webhooks
    .command("get")
    .description("one webhook (never its secret)")
    .argument("<webhook-id>")
    .addOption(tenantOption(true))
    .action(async (webhookId: string, options: { tenant: string }, command: Command) => {
      const { target, json } = await connect(command);
      const webhook = await storesOf(target).webhooks().get(options.tenant, webhookId);
      if (!webhook) throw new NotFoundError(`webhook ${webhookId} not found for tenant ${options.tenant}`);
      const resource = webhookResource(webhook);
      if (json) {
        printJson(resource);
        return;
      }
      printLines(
        formatFields([
          ["id", resource.id],
          ["url", resource.url],
          ["event types", resource.event_types.join(", ")],
          [
            "filter",
            resource.filter === null ? "none (every event of its types)" : JSON.stringify(resource.filter),
          ],
          ["ordering", resource.ordering === "fifo" ? "fifo (one at a time, in the order accepted)" : "none"],
          ["description", resource.description || undefined],
          ["active", resource.active ? "yes" : "no"],
          ["disabled because", resource.disabled_reason ?? undefined],
          [
            "retry schedule",
            resource.retry_schedule_seconds?.map((s) => `${s} s`).join(", ") ?? "the default",
          ],
          ["circuit", resource.circuit_state],
          ["circuit opened", cell(resource.circuit_opened_at) || undefined],
          ["created", resource.created_at],
          ["updated", resource.updated_at],
        ]),
      );
    });
}
