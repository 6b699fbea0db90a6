import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import {
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  paginateQuery,
  QueryCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { boundedAttempt, historySlot, keptAttempts } from "../domain/attempt-history.ts";
import type { DeliveryStep } from "../domain/deliver.ts";
import { deliveryIdRange } from "../domain/ids.ts";
import type { DeliveryMessage } from "../domain/messages.ts";
import type { AttemptRecord, Delivery, DeliveryStatus } from "../domain/model.ts";
import type { DeliveryKey, DeliveryPageRequest, DeliveryStore, StoredDelivery } from "../domain/ports.ts";
import { fanOutSettledSeconds, RELEASED_DUE_SECONDS, RETRY_RUN_CHECK_SECONDS } from "../shared/limits.ts";
import { BY_TIME_INDEX, PARKED_INDEX, TableKey } from "../shared/names.ts";
import {
  dueShardOf,
  expiryEpochSeconds,
  Keys,
  shardOf,
  WEBHOOK_DELIVERY_SHARDS,
  webhookDeliveryPartitions,
} from "./keys.ts";
import { mergeShardReads, type ShardRead } from "./shard-merge.ts";

const BATCH_WRITE_LIMIT = 25;

/** Records read by key at once, for an event's deliveries. */
const PARALLEL_READS = 25;
const BATCH_WRITE_ATTEMPTS = 8;

/** A filtered listing reads at most this many pages of DynamoDB results per request; the cursor goes on. */
const MAX_LIST_READS = 10;

/** A filtered listing reads at least this many items a query, however small the page it fills. */
const FILTERED_READ_BATCH = 100;

/** Where a delivery's record is: in one of its webhook's shards, by hash of its id. */
export function deliveryKey(tenantId: string, webhookId: string, deliveryId: string): DeliveryKey {
  return {
    pk: Keys.webhookDeliveryShard(tenantId, webhookId, shardOf(deliveryId, WEBHOOK_DELIVERY_SHARDS)),
    sk: Keys.delivery(deliveryId),
  };
}

/**
 * Where a record written before the records were sharded is: its webhook's own partition. Records are
 * looked for there only when their shard has none, so older deliveries still in progress at an upgrade
 * go on where they are.
 */
function unshardedKey(key: DeliveryKey): DeliveryKey {
  return { pk: key.pk.replace(/#SHARD#\d+$/, ""), sk: key.sk };
}

const keyAttributes = (key: DeliveryKey) => ({ [TableKey.partition]: key.pk, [TableKey.sort]: key.sk });

interface DeliveryItem {
  readonly id: string;
  readonly tenant_id: string;
  readonly webhook_id: string;
  readonly event_id: string;
  readonly event_type: string;
  readonly status: DeliveryStatus;
  readonly attempt_count: number;
  readonly schedule_start?: number;
  readonly last_status_code?: number;
  readonly last_error?: string;
  readonly duration_ms?: number;
  readonly created_at: string;
  readonly completed_at?: string;
  readonly next_attempt_at?: string;
  readonly parked_on?: string;
  readonly redrives?: number;
  readonly retry_run?: string;
  readonly released_at?: string;
  /** The first attempts (see attempt-history.ts). */
  readonly attempts?: readonly AttemptItem[];
  /** The latest attempts past the first, a ring in slot order. */
  readonly attempts_tail?: readonly AttemptItem[];
}

interface AttemptItem {
  readonly attempt: number;
  readonly at: string;
  readonly status_code?: number;
  readonly duration_ms: number;
  readonly error?: string;
  readonly response_body: string;
  readonly webhook_version?: string;
}

function attemptFromItem(attempt: AttemptItem): AttemptRecord {
  return {
    attempt: attempt.attempt,
    at: attempt.at,
    ...(attempt.status_code === undefined ? {} : { statusCode: attempt.status_code }),
    durationMs: attempt.duration_ms,
    ...(attempt.error === undefined ? {} : { error: attempt.error }),
    responseBody: attempt.response_body,
    ...(attempt.webhook_version === undefined ? {} : { webhookVersion: attempt.webhook_version }),
  };
}

function attemptItem(record: AttemptRecord): AttemptItem {
  const attempt = boundedAttempt(record);
  return {
    attempt: attempt.attempt,
    at: attempt.at,
    ...(attempt.statusCode === undefined ? {} : { status_code: attempt.statusCode }),
    duration_ms: attempt.durationMs,
    ...(attempt.error === undefined ? {} : { error: attempt.error }),
    response_body: attempt.responseBody,
    ...(attempt.webhookVersion === undefined ? {} : { webhook_version: attempt.webhookVersion }),
  };
}

export function deliveryFromItem(item: Record<string, unknown>): StoredDelivery {
  const stored = item as unknown as DeliveryItem;
  const history =
    stored.attempts === undefined && stored.attempts_tail === undefined
      ? undefined
      : keptAttempts(
          (stored.attempts ?? []).map(attemptFromItem),
          (stored.attempts_tail ?? []).map(attemptFromItem),
          stored.attempt_count,
        );
  return {
    id: stored.id,
    tenantId: stored.tenant_id,
    webhookId: stored.webhook_id,
    eventId: stored.event_id,
    eventType: stored.event_type,
    status: stored.status,
    attemptCount: stored.attempt_count,
    scheduleStart: stored.schedule_start ?? 0,
    parked: stored.parked_on !== undefined,
    redrives: stored.redrives ?? 0,
    ...(stored.retry_run === undefined ? {} : { retryRun: stored.retry_run }),
    ...(stored.released_at === undefined ? {} : { releasedAt: stored.released_at }),
    ...(stored.last_status_code === undefined ? {} : { lastStatusCode: stored.last_status_code }),
    ...(stored.last_error === undefined ? {} : { lastError: stored.last_error }),
    ...(stored.duration_ms === undefined ? {} : { durationMs: stored.duration_ms }),
    createdAt: stored.created_at,
    ...(stored.completed_at === undefined ? {} : { completedAt: stored.completed_at }),
    ...(stored.next_attempt_at === undefined ? {} : { nextAttemptAt: stored.next_attempt_at }),
    ...(history === undefined
      ? {}
      : {
          attempts: history.attempts,
          ...(history.omitted === 0 ? {} : { attemptsOmitted: history.omitted }),
        }),
  };
}

/** Builds an UpdateExpression from SET and REMOVE clauses, with values named `:v0`, `:v1`... */
class Update {
  private readonly sets: string[] = [];
  private readonly removes: string[] = [];
  readonly values: Record<string, unknown> = {};
  readonly names: Record<string, string> = { "#pk": TableKey.partition, "#status": "status" };

  set(attribute: string, value: unknown): this {
    const placeholder = `:v${Object.keys(this.values).length}`;
    this.values[placeholder] = value;
    this.sets.push(`${this.name(attribute)} = ${placeholder}`);
    return this;
  }

  /**
   * Keeps an attempt in the bounded history (attempt-history.ts): appended to the first attempts,
   * starting the ring of the latest, or overwriting the ring's oldest. DynamoDB's list_append cannot
   * trim, and a list index past the end appends, so every case stays one SET in the step's one write.
   */
  recordAttempt(attempt: AttemptRecord): this {
    const item = attemptItem(attempt);
    const slot = historySlot(attempt.attempt);
    if (slot.list === "head") {
      this.values[":none"] = [];
      this.values[":attempt"] = [item];
      this.sets.push("attempts = list_append(if_not_exists(attempts, :none), :attempt)");
    } else if (slot.start) {
      this.values[":attempt"] = [item];
      this.sets.push("attempts_tail = :attempt");
    } else {
      this.values[":attempt"] = item;
      this.sets.push(`attempts_tail[${slot.index}] = :attempt`);
    }
    return this;
  }

  remove(...attributes: string[]): this {
    this.removes.push(...attributes.map((attribute) => this.name(attribute)));
    return this;
  }

  expression(): string {
    return [
      this.sets.length > 0 ? `SET ${this.sets.join(", ")}` : "",
      this.removes.length > 0 ? `REMOVE ${this.removes.join(", ")}` : "",
    ]
      .filter(Boolean)
      .join(" ");
  }

  private name(attribute: string): string {
    const placeholder = `#${attribute.replace(/[^A-Za-z0-9]/g, "")}`;
    this.names[placeholder] = attribute;
    return placeholder;
  }
}

/**
 * The record of a new pending delivery: in its webhook's partition, indexed under its event, and due
 * (for the reconciler) `dueAfterSeconds` after its creation, until an attempt is recorded.
 */
export function pendingDeliveryItem(
  delivery: Delivery,
  retentionDays: number,
  dueAfterSeconds: number,
): Record<string, unknown> {
  return {
    ...keyAttributes(deliveryKey(delivery.tenantId, delivery.webhookId, delivery.id)),
    [TableKey.byTimePartition]: Keys.event(delivery.tenantId, delivery.eventId),
    [TableKey.byTimeSort]: Keys.delivery(delivery.id),
    [TableKey.expiresAt]: expiryEpochSeconds(new Date(delivery.createdAt), retentionDays),
    [TableKey.dueShard]: dueShardOf(delivery.id),
    [TableKey.dueAt]: new Date(Date.parse(delivery.createdAt) + dueAfterSeconds * 1000).toISOString(),
    id: delivery.id,
    tenant_id: delivery.tenantId,
    webhook_id: delivery.webhookId,
    event_id: delivery.eventId,
    event_type: delivery.eventType,
    status: delivery.status,
    attempt_count: delivery.attemptCount,
    schedule_start: 0,
    created_at: delivery.createdAt,
  };
}

const NOT_DUE = [TableKey.dueShard, TableKey.dueAt] as const;
const NOT_PARKED = [TableKey.parkedOn, TableKey.parkedSort] as const;
const REDRIVES = "redrives";
const RELEASED_AT = "released_at";

/** Deliveries live in the events table under their webhook's partition, and are indexed by event. */
export function dynamoDeliveryStore(
  client: DynamoDBDocumentClient,
  tableName: string,
  retentionDays: number,
  reconcileGraceSeconds: number,
): DeliveryStore {
  const dueAfter = (from: Date | string) =>
    new Date(new Date(from).getTime() + reconcileGraceSeconds * 1000).toISOString();

  /**
   * A publish's records are due once its invocation has surely ended; a resumed fan-out's (the
   * reconciler's, which runs for minutes) a grace later, as before.
   */
  const toItem = (delivery: Delivery, resume: boolean) =>
    pendingDeliveryItem(
      delivery,
      retentionDays,
      resume ? reconcileGraceSeconds : fanOutSettledSeconds(reconcileGraceSeconds),
    );

  async function batchPut(deliveries: readonly Delivery[]): Promise<void> {
    for (let start = 0; start < deliveries.length; start += BATCH_WRITE_LIMIT) {
      let requests: { PutRequest: { Item: Record<string, unknown> } }[] = deliveries
        .slice(start, start + BATCH_WRITE_LIMIT)
        .map((delivery) => ({ PutRequest: { Item: toItem(delivery, false) } }));
      for (let attempt = 1; requests.length > 0; attempt += 1) {
        if (attempt > BATCH_WRITE_ATTEMPTS) throw new Error("DynamoDB kept throttling the delivery records");
        const { UnprocessedItems } = await client.send(
          new BatchWriteCommand({ RequestItems: { [tableName]: requests } }),
        );
        requests = (UnprocessedItems?.[tableName] ?? []).flatMap((request) =>
          request.PutRequest?.Item ? [{ PutRequest: { Item: request.PutRequest.Item } }] : [],
        );
        if (requests.length > 0) await new Promise((resolve) => setTimeout(resolve, 25 * 2 ** attempt));
      }
    }
  }

  async function conditionally(command: UpdateCommand | PutCommand): Promise<boolean> {
    try {
      if (command instanceof PutCommand) await client.send(command);
      else await client.send(command);
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** The record at `key`, read strongly consistent: decisions are taken on it. */
  async function read(key: DeliveryKey): Promise<Record<string, unknown> | undefined> {
    const { Item } = await client.send(
      new GetCommand({ TableName: tableName, Key: keyAttributes(key), ConsistentRead: true }),
    );
    return Item;
  }

  /** A delivery's record and where it is: its shard, or its webhook's own partition (an older record). */
  async function locate(
    key: DeliveryKey,
  ): Promise<{ readonly key: DeliveryKey; readonly item: Record<string, unknown> } | undefined> {
    const item = await read(key);
    if (item) return { key, item };
    const older = unshardedKey(key);
    const olderItem = older.pk === key.pk ? undefined : await read(older);
    return olderItem ? { key: older, item: olderItem } : undefined;
  }

  /**
   * A conditional update of a delivery's record, where the record is. Tried on its shard; only when that
   * is refused and the shard holds no record (one read) is it tried on the webhook's own partition,
   * where records written before the sharding are.
   */
  async function updateRecord(key: DeliveryKey, condition: string, update: Update): Promise<boolean> {
    const write = (at: DeliveryKey) =>
      new UpdateCommand({
        TableName: tableName,
        Key: keyAttributes(at),
        ConditionExpression: condition,
        UpdateExpression: update.expression(),
        ExpressionAttributeNames: update.names,
        ExpressionAttributeValues: update.values,
      });
    if (await conditionally(write(key))) return true;
    const older = unshardedKey(key);
    if (older.pk === key.pk || (await read(key))) return false;
    return conditionally(write(older));
  }

  function stepUpdate(
    message: DeliveryMessage,
    step: DeliveryStep,
    now: Date,
    startsRetryRun: string | undefined,
  ): Update {
    // A recorded step is progress: the reconciler's count of re-drives without any starts again.
    const update = new Update().set("updated_at", now.toISOString()).remove(REDRIVES, RELEASED_AT);
    if (step.kind === "deferred") {
      return update
        .set("next_attempt_at", step.until)
        .set(TableKey.dueShard, dueShardOf(message.deliveryId))
        .set(TableKey.dueAt, dueAfter(step.until));
    }
    if (step.kind === "queued") {
      // Still waiting, not stalled: the reconciler leaves it be until its turn is likely to have come.
      const until = step.until !== undefined && Date.parse(step.until) > now.getTime() ? step.until : now;
      return update
        .set(TableKey.dueShard, dueShardOf(message.deliveryId))
        .set(TableKey.dueAt, dueAfter(until));
    }
    if (step.kind === "parked") {
      return update
        .set("next_attempt_at", step.until)
        .set(TableKey.parkedOn, Keys.webhookDeliveries(message.tenantId, message.webhookId))
        .set(TableKey.parkedSort, Keys.delivery(message.deliveryId))
        .set(TableKey.dueShard, dueShardOf(message.deliveryId))
        .set(TableKey.dueAt, dueAfter(step.until));
    }
    const attempt = "attempt" in step ? step.attempt : undefined;
    if (attempt) {
      update
        .set("attempt_count", attempt.attempt)
        .set("duration_ms", attempt.durationMs)
        .recordAttempt(attempt);
      if (attempt.statusCode === undefined) update.remove("last_status_code");
      else update.set("last_status_code", attempt.statusCode);
    }
    const lastError = step.kind === "failed" ? step.reason : attempt?.error;
    if (lastError === undefined) update.remove("last_error");
    else update.set("last_error", lastError);
    update.remove(...NOT_PARKED);
    switch (step.kind) {
      case "delivered":
        return update
          .set("status", "delivered")
          .set("completed_at", now.toISOString())
          .remove("next_attempt_at", ...NOT_DUE);
      case "failed":
        return update
          .set("status", "failed")
          .set("completed_at", now.toISOString())
          .remove("next_attempt_at", ...NOT_DUE);
      case "retry":
        if (startsRetryRun !== undefined) update.set("retry_run", startsRetryRun);
        // Due soon after the attempt: the reconciler asks whether the workflow still runs, instead of
        // a whole grace later.
        return update
          .set("status", "retrying")
          .set("next_attempt_at", step.nextAttemptAt)
          .set(TableKey.dueShard, dueShardOf(message.deliveryId))
          .set(
            TableKey.dueAt,
            new Date(Date.parse(step.nextAttemptAt) + RETRY_RUN_CHECK_SECONDS * 1000).toISOString(),
          );
      case "dead_letter":
        // Marked before its message goes to the dead-letter queue, so that a crash in between can
        // neither send one more attempt nor a second message: it stays due until the message is sent
        // (settleDeadLetter), and the reconciler sends one a crash left unsent.
        return update
          .set("status", "dead_lettered")
          .set("completed_at", now.toISOString())
          .remove("next_attempt_at")
          .set(TableKey.dueShard, dueShardOf(message.deliveryId))
          .set(TableKey.dueAt, dueAfter(now));
    }
  }

  /**
   * Up to `request.limit` of the deliveries in one partition, in the page's order, from its cursor and
   * within its id range and filters, and the partition's frontier: the sort key it was read to when it
   * goes on beyond (see shard-merge.ts).
   */
  async function readDeliveries(
    partition: string,
    request: DeliveryPageRequest,
  ): Promise<ShardRead<Delivery>> {
    const filters: string[] = [];
    const names: Record<string, string> = { "#pk": TableKey.partition, "#sk": TableKey.sort };
    const values: Record<string, unknown> = {
      ":pk": partition,
      ":from": Keys.delivery(request.fromId),
      ":to": Keys.delivery(request.toId),
    };
    if (request.statuses !== undefined) {
      names["#status"] = "status";
      const placeholders = request.statuses.map((status, index) => {
        values[`:status${index}`] = status;
        return `:status${index}`;
      });
      filters.push(`#status IN (${placeholders.join(", ")})`);
    }
    if (request.eventType !== undefined) {
      names["#eventType"] = "event_type";
      values[":eventType"] = request.eventType;
      filters.push("#eventType = :eventType");
    }
    const entries: { sort: string; value: Delivery }[] = [];
    // Only the position's sort key is taken from the caller; the partition is always this webhook's.
    let start: Record<string, unknown> | undefined =
      request.afterId === undefined
        ? undefined
        : keyAttributes({ pk: partition, sk: Keys.delivery(request.afterId) });
    // The id range excludes the webhook's other items (stats, order). With a filter, Limit counts items
    // read, not items kept: read in batches of at least FILTERED_READ_BATCH (a bounded number of times)
    // until the page is full, and stop at its last kept item when a batch holds more.
    const filtered = filters.length > 0;
    for (let round = 0; round < MAX_LIST_READS; round++) {
      const wanted = request.limit - entries.length;
      const page = await client.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: "#pk = :pk AND #sk BETWEEN :from AND :to",
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ...(filters.length === 0 ? {} : { FilterExpression: filters.join(" AND ") }),
          ScanIndexForward: request.oldestFirst === true,
          // A delivery's latest step, as just recorded, not as it was a second ago.
          ConsistentRead: true,
          Limit: filtered ? Math.max(wanted, FILTERED_READ_BATCH) : wanted,
          ...(start === undefined ? {} : { ExclusiveStartKey: start }),
        }),
      );
      const kept = (page.Items ?? []).map((item) => ({
        sort: String(item[TableKey.sort]),
        value: deliveryFromItem(item),
      }));
      if (kept.length >= wanted) {
        entries.push(...kept.slice(0, wanted));
        const last = entries[entries.length - 1];
        const more = kept.length > wanted || page.LastEvaluatedKey !== undefined;
        return more && last !== undefined ? { entries, frontier: last.sort } : { entries };
      }
      entries.push(...kept);
      start = page.LastEvaluatedKey;
      if (start === undefined) return { entries };
    }
    const frontier = start?.[TableKey.sort];
    return typeof frontier === "string" ? { entries, frontier } : { entries };
  }

  return {
    async createPending(deliveries, { resume }) {
      // A fresh fan-out cannot collide with existing records, so it can use cheap unconditional batches;
      // a resumed one must not reset deliveries that already progressed, nor create a second record of
      // one an older version kept in the webhook's own partition.
      if (!resume) {
        await batchPut(deliveries);
        return deliveries;
      }
      const created = await Promise.all(
        deliveries.map(async (delivery) => {
          const key = deliveryKey(delivery.tenantId, delivery.webhookId, delivery.id);
          if (await read(unshardedKey(key))) return false;
          return conditionally(
            new PutCommand({
              TableName: tableName,
              Item: toItem(delivery, true),
              ConditionExpression: "attribute_not_exists(#pk)",
              ExpressionAttributeNames: { "#pk": TableKey.partition },
            }),
          );
        }),
      );
      return deliveries.filter((_delivery, index) => created[index]);
    },

    async recordStep(message, step, now, options) {
      const update = stepUpdate(message, step, now, options?.startsRetryRun);
      update.values[":pending"] = "pending";
      update.values[":retrying"] = "retrying";
      update.values[":before"] = message.attempt - 1;
      return updateRecord(
        deliveryKey(message.tenantId, message.webhookId, message.deliveryId),
        "attribute_exists(#pk) AND #status IN (:pending, :retrying) AND attempt_count = :before",
        update,
      );
    },

    async settleDeadLetter(key) {
      const update = new Update().remove(...NOT_DUE);
      update.values[":deadLettered"] = "dead_lettered";
      return updateRecord(key, "attribute_exists(#pk) AND #status = :deadLettered", update);
    },

    async failStalled(delivery, reason, now) {
      const at = now.toISOString();
      const update = new Update()
        .set("status", "failed")
        .set("last_error", reason)
        .set("completed_at", at)
        .set("updated_at", at)
        .remove("next_attempt_at", ...NOT_DUE, ...NOT_PARKED);
      update.values[":expected"] = delivery.status;
      update.values[":count"] = delivery.attemptCount;
      update.values[":redrives"] = delivery.redrives;
      update.names["#redrives"] = REDRIVES;
      return updateRecord(
        deliveryKey(delivery.tenantId, delivery.webhookId, delivery.id),
        "attribute_exists(#pk) AND #status = :expected AND attempt_count = :count AND #redrives = :redrives",
        update,
      );
    },

    async get(tenantId, webhookId, deliveryId) {
      // Recovery decides on the status read here, and the API shows a delivery just recorded.
      const found = await locate(deliveryKey(tenantId, webhookId, deliveryId));
      return found ? deliveryFromItem(found.item) : undefined;
    },

    async deliveryPage(tenantId, webhookId, request) {
      // Each of the webhook's partitions is read side by side, in the same order and from the same
      // cursor, and the page is what all of them are known to hold (see shard-merge.ts).
      const reads = await Promise.all(
        webhookDeliveryPartitions(tenantId, webhookId).map((partition) => readDeliveries(partition, request)),
      );
      const { values: deliveries, lastSort } = mergeShardReads(
        reads,
        request.limit,
        request.oldestFirst === true ? "ascending" : "descending",
      );
      return lastSort === undefined
        ? { deliveries }
        : { deliveries, lastId: lastSort.slice(Keys.deliveryPrefix.length) };
    },

    async list(tenantId, webhookId, { status, limit }) {
      const { from, to } = deliveryIdRange();
      const page = await this.deliveryPage(tenantId, webhookId, {
        limit,
        fromId: from,
        toId: to,
        ...(status === undefined ? {} : { statuses: [status] }),
      });
      return [...page.deliveries];
    },

    async deliveriesOfEvent(tenantId, eventId, limit) {
      // Every delivery item is indexed under its event (see `toItem`), so an event's deliveries are
      // one query of the by-time index, also those of webhooks deleted since. The index holds their
      // keys, not their progress (which would rewrite it at every step): the records are read by key.
      const pages = paginateQuery(
        { client, pageSize: Math.min(limit, 100) },
        {
          TableName: tableName,
          IndexName: BY_TIME_INDEX,
          KeyConditionExpression: "#gsiPk = :event AND begins_with(#gsiSk, :prefix)",
          ProjectionExpression: "#pk, #sk",
          ExpressionAttributeNames: {
            "#gsiPk": TableKey.byTimePartition,
            "#gsiSk": TableKey.byTimeSort,
            "#pk": TableKey.partition,
            "#sk": TableKey.sort,
          },
          ExpressionAttributeValues: {
            ":event": Keys.event(tenantId, eventId),
            ":prefix": Keys.deliveryPrefix,
          },
        },
      );
      const keys: DeliveryKey[] = [];
      for await (const page of pages) {
        for (const item of page.Items ?? []) {
          keys.push({ pk: String(item[TableKey.partition]), sk: String(item[TableKey.sort]) });
        }
        if (keys.length >= limit) break;
      }
      const deliveries: Delivery[] = [];
      for (let start = 0; start < Math.min(keys.length, limit); start += PARALLEL_READS) {
        const items = await Promise.all(
          keys.slice(start, Math.min(start + PARALLEL_READS, limit)).map(async (key) => {
            const { Item } = await client.send(
              new GetCommand({ TableName: tableName, Key: keyAttributes(key) }),
            );
            return Item;
          }),
        );
        // A record that expired between the query and the read is simply gone.
        for (const item of items) if (item) deliveries.push(deliveryFromItem(item));
      }
      return deliveries;
    },

    async *parked(tenantId, webhookId) {
      const pages = paginateQuery(
        { client, pageSize: 100 },
        {
          TableName: tableName,
          IndexName: PARKED_INDEX,
          KeyConditionExpression: "#parkedOn = :parkedOn",
          ExpressionAttributeNames: { "#parkedOn": TableKey.parkedOn },
          ExpressionAttributeValues: { ":parkedOn": Keys.webhookDeliveries(tenantId, webhookId) },
        },
      );
      for await (const page of pages) yield (page.Items ?? []).map(deliveryFromItem);
    },

    async parkedBefore(tenantId, webhookId, deliveryId) {
      const { Items } = await client.send(
        new QueryCommand({
          TableName: tableName,
          IndexName: PARKED_INDEX,
          KeyConditionExpression: "#parkedOn = :parkedOn AND #parkedSort < :mine",
          ExpressionAttributeNames: { "#parkedOn": TableKey.parkedOn, "#parkedSort": TableKey.parkedSort },
          ExpressionAttributeValues: {
            ":parkedOn": Keys.webhookDeliveries(tenantId, webhookId),
            ":mine": Keys.delivery(deliveryId),
          },
          Limit: 1,
        }),
      );
      return (Items ?? []).length > 0;
    },

    async unpark(delivery, now) {
      // Claimed here, sent by the releaser right after: due soon, so that one lost with a releaser that
      // died in between does not wait a grace (the reconciler leaves it be while its lane holds messages).
      const update = new Update()
        .set("updated_at", now.toISOString())
        .set(RELEASED_AT, now.toISOString())
        .set(TableKey.dueAt, new Date(now.getTime() + RELEASED_DUE_SECONDS * 1000).toISOString())
        .remove(...NOT_PARKED);
      update.values[":count"] = delivery.attemptCount;
      update.values[":pending"] = "pending";
      update.values[":retrying"] = "retrying";
      update.names["#parkedOn"] = TableKey.parkedOn;
      return updateRecord(
        deliveryKey(delivery.tenantId, delivery.webhookId, delivery.id),
        "attribute_exists(#pk) AND attribute_exists(#parkedOn) AND #status IN (:pending, :retrying) AND attempt_count = :count",
        update,
      );
    },

    async reopen(tenantId, webhookId, deliveryId, now) {
      const found = await locate(deliveryKey(tenantId, webhookId, deliveryId));
      const current = found ? deliveryFromItem(found.item) : undefined;
      if (!found || !current || (current.status !== "failed" && current.status !== "dead_lettered"))
        return undefined;
      const update = new Update()
        .set("status", "pending")
        .set("schedule_start", current.attemptCount)
        .set("updated_at", now.toISOString())
        .set(TableKey.dueShard, dueShardOf(deliveryId))
        .set(TableKey.dueAt, dueAfter(now))
        .remove("completed_at", "next_attempt_at", REDRIVES);
      update.values[":expected"] = current.status;
      update.values[":count"] = current.attemptCount;
      // The earlier outcome leaves the webhook's stats through the stream, from this very change (see
      // `changeCounts`), so a delivery retried by hand is never counted twice, nor taken back without
      // being re-opened.
      const reopened = await conditionally(
        new UpdateCommand({
          TableName: tableName,
          Key: keyAttributes(found.key),
          ConditionExpression: "attribute_exists(#pk) AND #status = :expected AND attempt_count = :count",
          UpdateExpression: update.expression(),
          ExpressionAttributeNames: update.names,
          ExpressionAttributeValues: update.values,
        }),
      );
      return reopened
        ? { ...current, status: "pending", scheduleStart: current.attemptCount, redrives: 0 }
        : undefined;
    },
  };
}
