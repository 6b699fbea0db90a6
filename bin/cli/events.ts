import { setTimeout as sleep } from "node:timers/promises";
import { PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { type Command, InvalidArgumentError, Option } from "commander";
import { NotFoundError } from "../../functions/domain/errors.ts";
import { newEventId } from "../../functions/domain/ids.ts";
import type { StoredEvent } from "../../functions/domain/model.ts";
import { EVENT_ID } from "../../functions/http/schemas.ts";
import { DEFAULT_EVENT_SOURCE, StackOutput } from "../../functions/shared/names.ts";
import { requireOutput, type Target } from "../target.ts";
import { connect, storesOf, tenantOption } from "./context.ts";
import { cell, formatFields, printJson, printLines } from "./output.ts";

/** How long `publish` waits for Hookline to take the event in, unless told not to wait. */
const TAKE_IN_TIMEOUT_MS = 20_000;

/**
 * Polls until the event is stored and fanned out (its delivery count set), or the time is up: the
 * event as last read (perhaps still fanning out), or undefined when Hookline never stored it.
 */
async function takenIn(
  read: () => Promise<StoredEvent | undefined>,
  timeoutMs: number,
): Promise<StoredEvent | undefined> {
  const deadline = Date.now() + timeoutMs;
  let delayMs = 100;
  let event = await read();
  while (event?.deliveryCount === undefined && Date.now() < deadline) {
    await sleep(delayMs);
    delayMs = Math.min(delayMs * 2, 1_000);
    event = await read();
  }
  return event;
}

/**
 * The stack's event-type catalogue, from its `EventTypes` output; undefined for a stack deployed before
 * that output existed, where the ingest function is left to refuse an unknown type.
 */
function catalogueOf(target: Target): readonly string[] | undefined {
  const listed = target.outputs[StackOutput.eventTypes];
  return listed ? (JSON.parse(listed) as string[]) : undefined;
}

/** Edits (insert, delete, substitute) that turn `a` into `b`. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/**
 * Why `type` cannot be published: the closest known type when it looks like a typo of one (a third of
 * its characters or fewer changed), then the whole catalogue.
 */
export function unknownTypeMessage(type: string, known: readonly string[]): string {
  const [closest] = known
    .map((name) => ({ name, distance: editDistance(type, name) }))
    .filter(({ distance }) => distance <= Math.max(1, Math.floor(type.length / 3)))
    .sort((a, b) => a.distance - b.distance);
  return [
    `unknown event type "${type}"${closest ? `; did you mean ${closest.name}?` : ""}`,
    `the stack's event types: ${known.join(", ")}`,
  ].join("\n");
}

export function parseData(value: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new InvalidArgumentError('must be JSON, e.g. \'{"memory_id": "m_1"}\'');
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new InvalidArgumentError("must be a JSON object");
  }
  return parsed as Record<string, unknown>;
}

function parseEventId(value: string): string {
  if (!EVENT_ID.test(value))
    throw new InvalidArgumentError("must be 1-128 characters of A-Z a-z 0-9 _ . : -");
  return value;
}

function fanOut(deliveries: number | undefined): string {
  if (deliveries === undefined) return "Hookline is still fanning it out";
  return `${deliveries} ${deliveries === 1 ? "delivery" : "deliveries"}`;
}

function reportDuplicate(earlier: StoredEvent, json: boolean): void {
  if (json) {
    printJson({
      id: earlier.id,
      type: earlier.type,
      tenant_id: earlier.tenantId,
      accepted_at: earlier.acceptedAt,
      deliveries: earlier.deliveryCount ?? null,
      duplicate: true,
    });
    return;
  }
  console.log(earlier.id);
  console.error(
    `${earlier.id} was published before (a duplicate): nothing new was sent; ` +
      `accepted at ${earlier.acceptedAt} as ${earlier.type} for tenant ${earlier.tenantId}: ${fanOut(earlier.deliveryCount)}`,
  );
}

export function eventCommands(program: Command): void {
  const events = program.command("events").description("publish events and look at them");

  events
    .command("publish")
    .description("put an event on the stack's EventBridge bus, as an application would")
    .addOption(tenantOption(true))
    .requiredOption("--type <event-type>", "the event type, e.g. memory.created")
    .addOption(
      new Option("--data <json>", "the event's data, a JSON object").argParser(parseData).default({}, "{}"),
    )
    .addOption(
      new Option("--id <event-id>", "your id for the event (publishing an id twice delivers once)").argParser(
        parseEventId,
      ),
    )
    .option(
      "--source <source>",
      "the EventBridge source; Hookline's rule matches only the sources of its eventSources prop",
      DEFAULT_EVENT_SOURCE,
    )
    .option("--no-wait", "return once EventBridge has the event, without waiting for Hookline to take it in")
    .action(
      async (
        options: {
          tenant: string;
          type: string;
          data: Record<string, unknown>;
          id?: string;
          source: string;
          wait: boolean;
        },
        command: Command,
      ) => {
        const { target, json } = await connect(command);
        const catalogue = catalogueOf(target);
        if (catalogue !== undefined && !catalogue.includes(options.type)) {
          throw new Error(unknownTypeMessage(options.type, catalogue));
        }
        // Hookline takes an id in once and drops it on the bus after that, so say so instead of
        // waiting for a fan-out that will not happen.
        const earlier =
          options.id === undefined
            ? undefined
            : await storesOf(target).events().get(options.tenant, options.id);
        if (earlier !== undefined) {
          reportDuplicate(earlier, json);
          return;
        }
        const id = options.id ?? newEventId(new Date());
        const { Entries = [], FailedEntryCount = 0 } = await target.eventBridge.send(
          new PutEventsCommand({
            Entries: [
              {
                EventBusName: requireOutput(target, StackOutput.eventBusName),
                Source: options.source,
                DetailType: options.type,
                Detail: JSON.stringify({ tenant_id: options.tenant, data: options.data, id }),
              },
            ],
          }),
        );
        const [entry] = Entries;
        if (FailedEntryCount > 0 || !entry?.EventId) {
          throw new Error(
            `EventBridge refused the event: ${entry?.ErrorCode ?? "unknown"} ${entry?.ErrorMessage ?? ""}`,
          );
        }
        const putOn = `${target.description}'s bus`;
        if (!options.wait) {
          if (json)
            printJson({
              id,
              type: options.type,
              tenant_id: options.tenant,
              eventbridge_event_id: entry.EventId,
              duplicate: false,
            });
          else {
            console.log(id);
            console.error(`put event ${id} (${options.type}) for tenant ${options.tenant} on ${putOn}`);
          }
          return;
        }
        const stored = await takenIn(
          () => storesOf(target).events().get(options.tenant, id),
          TAKE_IN_TIMEOUT_MS,
        );
        if (!stored) {
          throw new Error(
            `EventBridge took event ${id}, but Hookline had not stored it ${TAKE_IN_TIMEOUT_MS / 1000} s later: ` +
              "the rule matches only the eventSources prop's sources, and the ingest function rejects an " +
              "unknown event type, a malformed event or data its type's schema refuses " +
              '(after its retries, "hookline ingest-dlq list" shows it with the reason)',
          );
        }
        const deliveries = stored.deliveryCount;
        if (json) {
          printJson({
            id,
            type: stored.type,
            tenant_id: stored.tenantId,
            accepted_at: stored.acceptedAt,
            deliveries: deliveries ?? null,
            eventbridge_event_id: entry.EventId,
            duplicate: false,
          });
          return;
        }
        console.log(id);
        console.error(
          `published ${id} (${stored.type}) for tenant ${stored.tenantId} on ${putOn}: ${fanOut(deliveries)}`,
        );
      },
    );

  events
    .command("get")
    .description("an event as Hookline stored it: type, payload, how many deliveries it made")
    .argument("<event-id>")
    .addOption(tenantOption(true))
    .action(async (eventId: string, options: { tenant: string }, command: Command) => {
      const { target, json } = await connect(command);
      const event = await storesOf(target).events().get(options.tenant, eventId);
      if (!event) throw new NotFoundError(`event ${eventId} not found for tenant ${options.tenant}`);
      const resource = {
        id: event.id,
        tenant_id: event.tenantId,
        type: event.type,
        source: event.source,
        accepted_at: event.acceptedAt,
        delivery_count: event.deliveryCount ?? null,
        payload: event.payload,
      };
      if (json) {
        printJson(resource);
        return;
      }
      printLines(
        formatFields([
          ["event", resource.id],
          ["tenant", resource.tenant_id],
          ["type", resource.type],
          ["source", resource.source],
          ["accepted", resource.accepted_at],
          [
            "deliveries",
            resource.delivery_count === null ? "fan-out not finished" : cell(resource.delivery_count),
          ],
          ["payload", resource.payload],
        ]),
      );
    });
}
