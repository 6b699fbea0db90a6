import { randomInt } from "node:crypto";
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { type DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { type Circuit, type CircuitState, CLOSED_CIRCUIT } from "../domain/circuit.ts";
import type { CursorPosition } from "../domain/cursor.ts";
import type { Webhook } from "../domain/model.ts";
import type {
  CircuitStore,
  OpenCircuitCount,
  RequestSettingsHistory,
  SubscriberPage,
  SubscriberSnapshot,
  SubscriberSource,
  WebhookStore,
} from "../domain/ports.ts";
import { requestSettingsChanged, requestSettingsOf, type SettingsRevision } from "../domain/sent-request.ts";
import { OPEN_CIRCUITS_INDEX, TableKey } from "../shared/names.ts";
import { Setting } from "../shared/settings.ts";
import { expiryEpochSeconds, Keys, SUBSCRIPTION_SHARDS } from "./keys.ts";
import { type TransactItem, writeTransaction } from "./transactions.ts";

interface WebhookItem {
  readonly id: string;
  readonly tenant_id: string;
  readonly url: string;
  readonly event_types: readonly string[];
  readonly description: string;
  readonly active: boolean;
  readonly secret: string;
  readonly previous_secret?: string;
  readonly previous_secret_expires_at?: string;
  readonly created_at: string;
  readonly updated_at: string;
  readonly retry_schedule_seconds?: readonly number[];
  readonly disabled_reason?: string;
  readonly circuit_state?: CircuitState;
  readonly consecutive_failures?: number;
  readonly circuit_opened_at?: string;
  readonly probe_claimed_at?: string;
  readonly circuit_version?: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly timeout_seconds?: number;
  readonly rate_limit_per_second?: number;
  readonly metadata?: Readonly<Record<string, string>>;
  /**
   * The filter as JSON text, not a map: DynamoDB's document client refuses numbers beyond
   * JavaScript's safe integers, and a pattern may compare with any number a publisher sends.
   */
  readonly filter?: string;
  /** Written only for `fifo`: a webhook without it is unordered. */
  readonly ordering?: "fifo";
}

/** The value of the sparse open-circuit index key; the attribute exists only while a circuit is not closed. */
const OPEN_CIRCUIT = "OPEN";

function toItem(webhook: Webhook): WebhookItem & Record<string, unknown> {
  return {
    [TableKey.partition]: Keys.tenant(webhook.tenantId),
    [TableKey.sort]: Keys.webhook(webhook.id),
    id: webhook.id,
    tenant_id: webhook.tenantId,
    url: webhook.url,
    event_types: webhook.eventTypes,
    description: webhook.description,
    active: webhook.active,
    secret: webhook.secret,
    ...(webhook.previousSecret === undefined || webhook.previousSecretExpiresAt === undefined
      ? {}
      : {
          previous_secret: webhook.previousSecret,
          previous_secret_expires_at: webhook.previousSecretExpiresAt,
        }),
    created_at: webhook.createdAt,
    updated_at: webhook.updatedAt,
    ...(webhook.retryScheduleSeconds ? { retry_schedule_seconds: webhook.retryScheduleSeconds } : {}),
    ...(webhook.disabledReason ? { disabled_reason: webhook.disabledReason } : {}),
    ...settingAttributes(webhook),
    ...circuitAttributes(webhook.circuit),
    ...(webhook.circuit.state === "closed" ? {} : { [TableKey.openCircuit]: OPEN_CIRCUIT }),
  };
}

/** The optional settings of a webhook, as stored; an absent one is not written. */
function settingAttributes(webhook: Webhook) {
  return {
    ...(webhook.headers ? { headers: webhook.headers } : {}),
    ...(webhook.timeoutSeconds === undefined ? {} : { timeout_seconds: webhook.timeoutSeconds }),
    ...(webhook.rateLimitPerSecond === undefined
      ? {}
      : { rate_limit_per_second: webhook.rateLimitPerSecond }),
    ...(webhook.metadata ? { metadata: webhook.metadata } : {}),
    ...(webhook.filter ? { filter: JSON.stringify(webhook.filter) } : {}),
    ...(webhook.ordering === "fifo" ? { ordering: "fifo" as const } : {}),
  };
}

function circuitAttributes(circuit: Circuit) {
  return {
    circuit_state: circuit.state,
    consecutive_failures: circuit.consecutiveFailures,
    circuit_version: circuit.version,
    ...(circuit.openedAt ? { circuit_opened_at: circuit.openedAt } : {}),
    ...(circuit.probeClaimedAt ? { probe_claimed_at: circuit.probeClaimedAt } : {}),
  };
}

function fromItem(item: Record<string, unknown>): Webhook {
  const stored = item as unknown as WebhookItem;
  return {
    id: stored.id,
    tenantId: stored.tenant_id,
    url: stored.url,
    eventTypes: stored.event_types,
    description: stored.description,
    active: stored.active,
    secret: stored.secret,
    ...(stored.previous_secret === undefined || stored.previous_secret_expires_at === undefined
      ? {}
      : {
          previousSecret: stored.previous_secret,
          previousSecretExpiresAt: stored.previous_secret_expires_at,
        }),
    createdAt: stored.created_at,
    updatedAt: stored.updated_at,
    ...(stored.retry_schedule_seconds ? { retryScheduleSeconds: stored.retry_schedule_seconds } : {}),
    ...(stored.disabled_reason ? { disabledReason: stored.disabled_reason } : {}),
    ...(stored.headers ? { headers: stored.headers } : {}),
    ...(stored.timeout_seconds === undefined ? {} : { timeoutSeconds: stored.timeout_seconds }),
    ...(stored.rate_limit_per_second === undefined
      ? {}
      : { rateLimitPerSecond: stored.rate_limit_per_second }),
    ...(stored.metadata ? { metadata: stored.metadata } : {}),
    ...(stored.filter ? { filter: JSON.parse(stored.filter) } : {}),
    ...(stored.ordering === "fifo" ? { ordering: "fifo" as const } : {}),
    circuit:
      stored.circuit_state === undefined
        ? CLOSED_CIRCUIT
        : {
            state: stored.circuit_state,
            consecutiveFailures: stored.consecutive_failures ?? 0,
            version: stored.circuit_version ?? 0,
            ...(stored.circuit_opened_at ? { openedAt: stored.circuit_opened_at } : {}),
            ...(stored.probe_claimed_at ? { probeClaimedAt: stored.probe_claimed_at } : {}),
          },
  };
}

/** A page's stopping point, kept to the key attributes of the caller's own partition. */
function positionOf(lastEvaluatedKey: Record<string, unknown>, tenantId: string): CursorPosition {
  const sort = lastEvaluatedKey[TableKey.sort];
  if (typeof sort !== "string") throw new Error("unexpected LastEvaluatedKey from the webhooks table");
  return { [TableKey.partition]: Keys.tenant(tenantId), [TableKey.sort]: sort };
}

/** Webhooks live in the webhooks table under their tenant's partition. */
function circuitUpdateExpression(to: Circuit): string {
  const set = ["circuit_state = :state", "consecutive_failures = :failures", "circuit_version = :version"];
  const remove: string[] = [];
  if (to.state === "closed") remove.push(TableKey.openCircuit);
  else set.push(`${TableKey.openCircuit} = :openCircuit`);
  if (to.openedAt) set.push("circuit_opened_at = :openedAt");
  else remove.push("circuit_opened_at");
  if (to.probeClaimedAt) set.push("probe_claimed_at = :claimedAt");
  else remove.push("probe_claimed_at");
  return `SET ${set.join(", ")}${remove.length > 0 ? ` REMOVE ${remove.join(", ")}` : ""}`;
}

/** Attributes a patch or a secret rotation may change; an absent optional one is removed. */
const UPDATABLE = [
  "url",
  "event_types",
  "description",
  "active",
  "updated_at",
  "retry_schedule_seconds",
  "disabled_reason",
  "headers",
  "timeout_seconds",
  "rate_limit_per_second",
  "metadata",
  "filter",
  "ordering",
  "secret",
  "previous_secret",
  "previous_secret_expires_at",
] as const;

/** Most items one list request reads before it answers with what it has (and a cursor). */
const MAX_LIST_READS = 10;

/** The attribute of each copy of a tenant's subscriptions version that counts the changes to its webhooks. */
const SUBSCRIPTIONS_VERSION = "subscriptions_version";
/**
 * The attribute of the tenant's subscriptions item (beside its webhooks) that counts its webhooks,
 * moved in the transaction that creates or deletes one, so that the per-tenant limit costs no query.
 */
const WEBHOOK_COUNT = "webhook_count";

/** The subscriber source also tells a delivery function whether the webhooks it cached are current. */
export interface SubscriptionsCheck {
  /**
   * The tenant's subscriptions version, read like `subscriptionsUnchanged` (a strongly consistent read
   * of one copy). It moves with every change to one of its webhooks and with every circuit that leaves
   * the closed state.
   */
  subscriptionsVersion(tenantId: string): Promise<number>;
}

/** How often a deletion is tried again when the webhook changed between its read and its delete. */
const DELETE_ROUNDS = 3;

interface RevisionItem {
  readonly until: string;
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly previous_secret_expires_at?: string;
}

/**
 * `subscriberPageSize` is how many webhooks a fan-out reads per page (`fanOutPageSize`);
 * `retentionDays` how long the settings a change replaced are kept, like the deliveries sent with them.
 */
export function dynamoWebhookStore(
  client: DynamoDBDocumentClient,
  tableName: string,
  subscriberPageSize: number = Setting.fanOutPageSize.default,
  retentionDays: number = Setting.retentionDays.default,
): WebhookStore &
  SubscriberSource &
  SubscriptionsCheck &
  CircuitStore &
  OpenCircuitCount &
  RequestSettingsHistory {
  const key = (tenantId: string, webhookId: string) => ({
    [TableKey.partition]: Keys.tenant(tenantId),
    [TableKey.sort]: Keys.webhook(webhookId),
  });
  const subscriptionsKey = (tenantId: string) => ({
    [TableKey.partition]: Keys.tenant(tenantId),
    [TableKey.sort]: Keys.subscriptionsSort,
  });
  const versionKey = (tenantId: string, shard: number) => ({
    [TableKey.partition]: Keys.subscriptionsShard(tenantId, shard),
    [TableKey.sort]: Keys.subscriptionsSort,
  });
  /**
   * The version as one copy holds it, read strongly consistent; a tenant whose webhooks never changed
   * since the copies exist has none, which is version 0 on every copy alike.
   */
  const readVersion = async (tenantId: string) => {
    const { Item } = await client.send(
      new GetCommand({
        TableName: tableName,
        Key: versionKey(tenantId, randomInt(SUBSCRIPTION_SHARDS)),
        ConsistentRead: true,
      }),
    );
    return typeof Item?.[SUBSCRIPTIONS_VERSION] === "number" ? Item[SUBSCRIPTIONS_VERSION] : 0;
  };

  /**
   * Writes a change to one of a tenant's webhooks and moves every copy of the tenant's subscriptions
   * version on, in one transaction: an ingest function that cached the tenant's subscribers reads one
   * copy before it stores an event's deliveries, so no event published after this change misses it.
   * Returns false when the change's own condition failed.
   */
  async function changeSubscriptions(
    tenantId: string,
    change: TransactItem,
    ...alongside: TransactItem[]
  ): Promise<boolean> {
    const result = await writeTransaction(client, [change, ...alongside, ...versionUpdates(tenantId)]);
    return result.written;
  }

  /**
   * Keeps what `webhook`'s requests were built from, in the write that replaces it (a change or a
   * deletion at `until`), for as long as the deliveries sent with it are kept.
   */
  function revisionPut(webhook: Webhook, until: string): TransactItem {
    const settings = requestSettingsOf(webhook);
    const item: RevisionItem = {
      until,
      url: settings.url,
      ...(settings.headers === undefined ? {} : { headers: settings.headers }),
      ...(settings.previousSecretExpiresAt === undefined
        ? {}
        : { previous_secret_expires_at: settings.previousSecretExpiresAt }),
    };
    return {
      Put: {
        TableName: tableName,
        Item: {
          [TableKey.partition]: Keys.tenant(webhook.tenantId),
          [TableKey.sort]: Keys.requestSettings(webhook.id, until),
          [TableKey.expiresAt]: expiryEpochSeconds(new Date(until), retentionDays),
          ...item,
        },
      },
    };
  }

  /** Moves every copy on by one: they start alike (absent) and always move together, so they stay alike. */
  function versionUpdates(tenantId: string): TransactItem[] {
    return Array.from({ length: SUBSCRIPTION_SHARDS }, (_, shard) => ({
      Update: {
        TableName: tableName,
        Key: versionKey(tenantId, shard),
        UpdateExpression: "ADD #version :one",
        ExpressionAttributeNames: { "#version": SUBSCRIPTIONS_VERSION },
        ExpressionAttributeValues: { ":one": 1 },
      },
    }));
  }

  /** Moves the tenant's webhook count by `by`; creating one is refused when the count is at `max`. */
  function countUpdate(tenantId: string, by: 1 | -1, max?: number): TransactItem {
    return {
      Update: {
        TableName: tableName,
        Key: subscriptionsKey(tenantId),
        UpdateExpression: "ADD #count :by",
        ExpressionAttributeNames: { "#count": WEBHOOK_COUNT },
        ExpressionAttributeValues: { ":by": by, ...(max === undefined ? {} : { ":max": max }) },
        ...(max === undefined
          ? {}
          : { ConditionExpression: "attribute_not_exists(#count) OR #count < :max" }),
      },
    };
  }

  return {
    async create(webhook, maxWebhooks) {
      const result = await writeTransaction(client, [
        {
          Put: {
            TableName: tableName,
            Item: toItem(webhook),
            ConditionExpression: "attribute_not_exists(#pk)",
            ExpressionAttributeNames: { "#pk": TableKey.partition },
          },
        },
        countUpdate(webhook.tenantId, 1, maxWebhooks),
        ...versionUpdates(webhook.tenantId),
      ]);
      if (result.written) return true;
      if (result.failedConditions.includes(0)) throw new Error(`webhook ${webhook.id} exists already`);
      return false;
    },
    async subscriptionsUnchanged(tenantId, version) {
      return (await readVersion(tenantId)) === version;
    },
    subscriptionsVersion: readVersion,
    async subscriberSnapshot(tenantId): Promise<SubscriberSnapshot> {
      // The version first, then the page, both strongly consistent: a change in between leaves the page
      // newer than the version, which only makes the publish's version check fail and read again.
      const version = await readVersion(tenantId);
      return { version, page: await activeWebhookPage(tenantId, undefined, true) };
    },
    async get(tenantId, webhookId, consistent = false) {
      const { Item } = await client.send(
        new GetCommand({ TableName: tableName, Key: key(tenantId, webhookId), ConsistentRead: consistent }),
      );
      return Item ? fromItem(Item) : undefined;
    },
    async list(tenantId, request) {
      const webhooks: Webhook[] = [];
      // The cursor's position is used within the caller's own partition only, whatever it holds.
      let start: Record<string, unknown> | undefined =
        request.after === undefined
          ? undefined
          : { ...key(tenantId, ""), [TableKey.sort]: String(request.after[TableKey.sort]) };
      // With a filter, DynamoDB's Limit counts items read, not items kept: read on until the page is full.
      for (let read = 0; read < MAX_LIST_READS && webhooks.length < request.limit; read++) {
        const page: { Items?: Record<string, unknown>[]; LastEvaluatedKey?: Record<string, unknown> } =
          await client.send(
            new QueryCommand({
              TableName: tableName,
              KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :prefix)",
              ExpressionAttributeNames: {
                "#pk": TableKey.partition,
                "#sk": TableKey.sort,
                ...(request.active === undefined ? {} : { "#active": "active" }),
              },
              ExpressionAttributeValues: {
                ":pk": Keys.tenant(tenantId),
                ":prefix": Keys.webhookPrefix,
                ...(request.active === undefined ? {} : { ":active": request.active }),
              },
              ...(request.active === undefined ? {} : { FilterExpression: "#active = :active" }),
              ScanIndexForward: false,
              // The API lists what it has just written: a webhook created a moment ago is listed.
              ConsistentRead: true,
              Limit: request.limit - webhooks.length,
              ...(start === undefined ? {} : { ExclusiveStartKey: start }),
            }),
          );
        webhooks.push(...(page.Items ?? []).map(fromItem));
        start = page.LastEvaluatedKey;
        if (start === undefined) break;
      }
      return {
        webhooks,
        ...(start === undefined ? {} : { next: positionOf(start, tenantId) }),
      };
    },
    async update(before, after) {
      const item = toItem(after);
      const set: string[] = [];
      const remove: string[] = [];
      const names: Record<string, string> = { "#pk": TableKey.partition, "#seen": "updated_at" };
      const values: Record<string, unknown> = { ":seen": before.updatedAt };
      for (const [index, attribute] of UPDATABLE.entries()) {
        names[`#a${index}`] = attribute;
        if (item[attribute] === undefined) remove.push(`#a${index}`);
        else {
          set.push(`#a${index} = :a${index}`);
          values[`:a${index}`] = item[attribute];
        }
      }
      let condition = "attribute_exists(#pk) AND #seen = :seen";
      let expression = `SET ${set.join(", ")}${remove.length > 0 ? ` REMOVE ${remove.join(", ")}` : ""}`;
      if (after.circuit !== before.circuit) {
        const circuit = circuitUpdateExpression(after.circuit).replace(/^SET /, "");
        const [circuitSet = "", circuitRemove] = circuit.split(" REMOVE ");
        const removeAll = [...remove, ...(circuitRemove ? [circuitRemove] : [])];
        expression = `SET ${[...set, circuitSet].join(", ")}${removeAll.length > 0 ? ` REMOVE ${removeAll.join(", ")}` : ""}`;
        condition +=
          before.circuit.version === 0
            ? " AND (attribute_not_exists(circuit_version) OR circuit_version = :from)"
            : " AND circuit_version = :from";
        const next = circuitAttributes(after.circuit);
        Object.assign(values, {
          ":from": before.circuit.version,
          ":state": next.circuit_state,
          ":failures": next.consecutive_failures,
          ":version": next.circuit_version,
          ...(after.circuit.state === "closed" ? {} : { ":openCircuit": OPEN_CIRCUIT }),
          ...(after.circuit.openedAt ? { ":openedAt": after.circuit.openedAt } : {}),
          ...(after.circuit.probeClaimedAt ? { ":claimedAt": after.circuit.probeClaimedAt } : {}),
        });
      }
      return changeSubscriptions(
        before.tenantId,
        {
          Update: {
            TableName: tableName,
            Key: key(before.tenantId, before.id),
            ConditionExpression: condition,
            UpdateExpression: expression,
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
          },
        },
        ...(requestSettingsChanged(before, after) ? [revisionPut(before, after.updatedAt)] : []),
      );
    },
    async countOpenCircuits(limit) {
      let count = 0;
      let start: Record<string, unknown> | undefined;
      do {
        const page: { Count?: number; LastEvaluatedKey?: Record<string, unknown> } = await client.send(
          new QueryCommand({
            TableName: tableName,
            IndexName: OPEN_CIRCUITS_INDEX,
            KeyConditionExpression: "#open = :open",
            ExpressionAttributeNames: { "#open": TableKey.openCircuit },
            ExpressionAttributeValues: { ":open": OPEN_CIRCUIT },
            Select: "COUNT",
            Limit: limit - count,
            ...(start === undefined ? {} : { ExclusiveStartKey: start }),
          }),
        );
        count += page.Count ?? 0;
        start = page.LastEvaluatedKey;
      } while (start !== undefined && count < limit);
      return count;
    },
    async remove(tenantId, webhookId) {
      // Read first: the deletion keeps the settings its deliveries were sent with. A change between
      // the read and the delete fails the condition, and the deletion reads again.
      for (let round = 0; round < DELETE_ROUNDS; round += 1) {
        const webhook = await this.get(tenantId, webhookId, true);
        if (!webhook) return false;
        // Later than the webhook's last version even if clocks disagree: that version is before it.
        const until = new Date(Math.max(Date.now(), Date.parse(webhook.updatedAt) + 1)).toISOString();
        const result = await writeTransaction(client, [
          {
            Delete: {
              TableName: tableName,
              Key: key(tenantId, webhookId),
              ConditionExpression: "attribute_exists(#pk) AND #seen = :seen",
              ExpressionAttributeNames: { "#pk": TableKey.partition, "#seen": "updated_at" },
              ExpressionAttributeValues: { ":seen": webhook.updatedAt },
            },
          },
          countUpdate(tenantId, -1),
          revisionPut(webhook, until),
          ...versionUpdates(tenantId),
        ]);
        if (result.written) return true;
      }
      throw new Error(`webhook ${webhookId} kept changing while it was being deleted`);
    },
    async revisionAfter(tenantId, webhookId, version) {
      const prefix = Keys.requestSettingsPrefix(webhookId);
      const { Items } = await client.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: "#pk = :pk AND #sk > :after",
          ExpressionAttributeNames: { "#pk": TableKey.partition, "#sk": TableKey.sort },
          ExpressionAttributeValues: {
            ":pk": Keys.tenant(tenantId),
            ":after": Keys.requestSettings(webhookId, version),
          },
          Limit: 1,
          ConsistentRead: true,
        }),
      );
      const item = Items?.[0];
      // The next key may be another webhook's or another kind of record: then nothing replaced it.
      if (!item || !String(item[TableKey.sort]).startsWith(prefix)) return undefined;
      const stored = item as unknown as RevisionItem;
      return {
        until: stored.until,
        url: stored.url,
        ...(stored.headers === undefined ? {} : { headers: stored.headers }),
        ...(stored.previous_secret_expires_at === undefined
          ? {}
          : { previousSecretExpiresAt: stored.previous_secret_expires_at }),
      } satisfies SettingsRevision;
    },
    async saveCircuit(tenantId, webhookId, from, to) {
      const next = circuitAttributes(to);
      const update = {
        TableName: tableName,
        Key: key(tenantId, webhookId),
        ConditionExpression:
          from.version === 0
            ? "attribute_exists(#pk) AND (attribute_not_exists(circuit_version) OR circuit_version = :from)"
            : "attribute_exists(#pk) AND circuit_version = :from",
        UpdateExpression: circuitUpdateExpression(to),
        ExpressionAttributeNames: { "#pk": TableKey.partition },
        ExpressionAttributeValues: {
          ":from": from.version,
          ":state": next.circuit_state,
          ":failures": next.consecutive_failures,
          ":version": next.circuit_version,
          ...(to.state === "closed" ? {} : { ":openCircuit": OPEN_CIRCUIT }),
          ...(to.openedAt ? { ":openedAt": to.openedAt } : {}),
          ...(to.probeClaimedAt ? { ":claimedAt": to.probeClaimedAt } : {}),
        },
      };
      // A circuit that opens moves the subscriptions version on, which is how delivery functions that
      // cached the webhook as healthy learn of it; failures counted below the threshold do not, or a
      // flaky endpoint would cost eight writes a failure.
      if (from.state === "closed" && to.state !== "closed") {
        return changeSubscriptions(tenantId, { Update: update });
      }
      try {
        await client.send(new UpdateCommand(update));
        return true;
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) return false;
        throw error;
      }
    },
    async deactivate(tenantId, webhookId, reason, at) {
      // A webhook deleted meanwhile (the condition failing) needs no deactivating.
      await changeSubscriptions(tenantId, {
        Update: {
          TableName: tableName,
          Key: key(tenantId, webhookId),
          ConditionExpression: "attribute_exists(#pk)",
          UpdateExpression: "SET active = :false, disabled_reason = :reason, updated_at = :at",
          ExpressionAttributeNames: { "#pk": TableKey.partition },
          ExpressionAttributeValues: { ":false": false, ":reason": reason, ":at": at },
        },
      });
    },
    activeWebhookPage: (tenantId, after) => activeWebhookPage(tenantId, after, false),
  };

  async function activeWebhookPage(
    tenantId: string,
    after: string | undefined,
    consistent: boolean,
  ): Promise<SubscriberPage> {
    const page = await client.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :prefix)",
        FilterExpression: "#active = :true",
        ExpressionAttributeNames: { "#pk": TableKey.partition, "#sk": TableKey.sort, "#active": "active" },
        ExpressionAttributeValues: {
          ":pk": Keys.tenant(tenantId),
          ":prefix": Keys.webhookPrefix,
          ":true": true,
        },
        Limit: subscriberPageSize,
        ...(consistent ? { ConsistentRead: true } : {}),
        // The position is a sort key inside the tenant's own partition, never a key of another's.
        ...(after === undefined
          ? {}
          : { ExclusiveStartKey: { ...key(tenantId, ""), [TableKey.sort]: after } }),
      }),
    );
    const next = page.LastEvaluatedKey?.[TableKey.sort];
    return {
      webhooks: (page.Items ?? []).map(fromItem),
      ...(typeof next === "string" ? { next } : {}),
    };
  }
}
