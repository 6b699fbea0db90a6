/** What every command shares: the target stack, the stores over it, and the common options. */
import { type Command, InvalidArgumentError, Option } from "commander";
import type { ApiKeyDeps } from "../../functions/adapters/api-keys.ts";
import { sqsDeliveryQueue } from "../../functions/adapters/delivery-queue.ts";
import { dynamoStores } from "../../functions/adapters/stores.ts";
import { StackOutput } from "../../functions/shared/names.ts";
import { parseSetting, type RangeSetting, Setting } from "../../functions/shared/settings.ts";
import { requireOutput, resolveTarget, type Target } from "../target.ts";

export interface GlobalOptions {
  readonly stack?: string;
  readonly json: boolean;
}

export function globalOptions(command: Command): GlobalOptions {
  const options = command.optsWithGlobals<{ stack?: string; json?: boolean }>();
  return { ...(options.stack ? { stack: options.stack } : {}), json: options.json === true };
}

/** Tenant ids, like caller-chosen event ids, are 1-128 characters of a safe alphabet. */
const SAFE_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

function parseId(what: string) {
  return (value: string) => {
    if (!SAFE_ID.test(value))
      throw new InvalidArgumentError(`${what} must be 1-128 characters of A-Z a-z 0-9 _ . : -`);
    return value;
  };
}

export function tenantOption(required: boolean): Option {
  const option = new Option("--tenant <tenant-id>", "the tenant").argParser(parseId("a tenant id"));
  return required ? option.makeOptionMandatory() : option;
}

export function webhookOption(): Option {
  return new Option("--webhook <webhook-id>", "the webhook")
    .argParser(parseId("a webhook id"))
    .makeOptionMandatory();
}

export function wholeNumber(min: number, max: number) {
  return (value: string) => {
    const number = Number(value);
    if (!/^\d+$/.test(value) || number < min || number > max) {
      throw new InvalidArgumentError(`must be a whole number from ${min} to ${max}`);
    }
    return number;
  };
}

/**
 * The deployment's retention and reconciler grace, from the stack's outputs: records the CLI writes
 * (a redrive, a retry) expire and fall due as the functions' own do.
 */
export function recordSettingsOf(target: Pick<Target, "description" | "outputs">): {
  retentionDays: number;
  reconcileGraceSeconds: number;
} {
  const read = (output: string, setting: RangeSetting) =>
    parseSetting(`${target.description} output ${output}`, setting, requireOutput(target, output));
  return {
    retentionDays: read(StackOutput.retentionDays, Setting.retentionDays),
    reconcileGraceSeconds: read(StackOutput.reconcileGraceSeconds, Setting.reconcileGraceSeconds),
  };
}

/** The stores the commands read and write, over the target's tables, with the deployment's settings. */
export function storesOf(target: Target) {
  const eventsTable = () => requireOutput(target, StackOutput.eventsTable);
  const webhooksTable = () => requireOutput(target, StackOutput.webhooksTable);
  const tables = () =>
    dynamoStores(target.ddb, {
      webhooksTable: webhooksTable(),
      eventsTable: eventsTable(),
      ...recordSettingsOf(target),
      // The CLI never fans an event out (a republish goes through the bus), so the page size is unused.
      fanOutPageSize: Setting.fanOutPageSize.default,
    });
  return {
    apiKeys: (): ApiKeyDeps => ({ ddb: target.ddb, tableName: webhooksTable() }),
    webhooks: () => tables().webhooks,
    deliveries: () => tables().deliveries,
    events: () => tables().events,
    /** The delivery queues, each delivery sent to its event type's lane. */
    queue: () =>
      sqsDeliveryQueue(target.sqs, {
        queueUrl: requireOutput(target, StackOutput.deliveryQueueUrl),
        priorityQueueUrl: requireOutput(target, StackOutput.priorityQueueUrl),
        priorityTypes: new Set(JSON.parse(requireOutput(target, StackOutput.priorityEventTypes)) as string[]),
      }),
  };
}

/** The target of `--stack` (or the local stack), with the command's options. */
export async function connect(command: Command): Promise<GlobalOptions & { target: Target }> {
  const options = globalOptions(command);
  return { ...options, target: await resolveTarget(options.stack) };
}
