import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  TransactionCanceledException,
} from "@aws-sdk/client-dynamodb";
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { dynamoCursorKey } from "../../functions/adapters/cursor-key.ts";
import { SUBSCRIPTION_SHARDS } from "../../functions/adapters/keys.ts";
import { dynamoWebhookStore } from "../../functions/adapters/webhook-store.ts";
import type { Webhook } from "../../functions/domain/model.ts";
import { rotatedSecret } from "../../functions/domain/secret-rotation.ts";
import { applyWebhookPatch } from "../../functions/domain/webhooks.ts";

const ddb = mockClient(DynamoDBDocumentClient);
const client = DynamoDBDocumentClient.from(new DynamoDBClient({}));
afterEach(() => ddb.reset());

const disabled: Webhook = {
  id: "wh_01",
  tenantId: "acme",
  url: "https://example.com/hooks",
  eventTypes: ["memory.created"],
  description: "",
  active: false,
  secret: "whsec_x",
  createdAt: "2026-11-25T10:00:00.000Z",
  updatedAt: "2026-11-25T10:00:00.000Z",
  disabledReason: "endpoint answered 410 Gone",
  headers: { "X-A": "1" },
  circuit: { state: "open", consecutiveFailures: 6, openedAt: "2026-11-25T10:00:00.000Z", version: 3 },
};

function conditionalFailure() {
  return new ConditionalCheckFailedException({ message: "no", $metadata: {} });
}

function cancelledOnCondition() {
  return new TransactionCanceledException({
    message: "Transaction cancelled",
    $metadata: {},
    CancellationReasons: [{ Code: "ConditionalCheckFailed" }, { Code: "None" }],
  });
}

/** The items of the store's `call`-th transaction. */
function transaction(call = 0) {
  return ddb.commandCalls(TransactWriteCommand)[call]?.args[0].input.TransactItems ?? [];
}

/**
 * Checks that the transaction's last items move every copy of the tenant's subscriptions version on
 * (each caching ingest function reads one of them), each in its own partition.
 */
function expectEveryVersionCopyMoved(items: ReturnType<typeof transaction>) {
  const copies = items.slice(-SUBSCRIPTION_SHARDS).map((item) => item.Update);
  expect(new Set(copies.map((copy) => copy?.Key?.pk))).toEqual(
    new Set(Array.from({ length: SUBSCRIPTION_SHARDS }, (_, shard) => `TENANT#acme#SUBSCRIPTIONS#${shard}`)),
  );
  for (const copy of copies) {
    expect(copy).toMatchObject({
      UpdateExpression: "ADD #version :one",
      ExpressionAttributeNames: { "#version": "subscriptions_version" },
    });
  }
}

/**
 * The webhook write of the store's `call`-th transaction, after checking that the transaction's other
 * items move the tenant's subscriptions version on (what a caching ingest function checks), and that
 * anything else it writes is the settings the write replaces.
 */
function webhookWrite<Kind extends "Put" | "Update">(kind: Kind, call = 0) {
  const items = transaction(call);
  expectEveryVersionCopyMoved(items);
  const others = items.slice(0, -SUBSCRIPTION_SHARDS);
  // A create (a Put) also counts the webhook in; a change may keep the settings it replaces.
  const alongside = kind === "Put" ? 2 : 1;
  expect(
    others.length === alongside || others[alongside]?.Put?.Item?.sk === "SENT#wh_01#2026-11-25T11:00:00.000Z",
  ).toBe(true);
  expect(others.length).toBeLessThanOrEqual(alongside + 1);
  const write = items[0]?.[kind];
  if (write === undefined) throw new Error(`the transaction has no ${kind}`);
  return write;
}

describe("the webhook store's update", () => {
  it("re-enabling writes a closed circuit on the version read, and leaves the open-circuit index", async () => {
    // Prepare
    ddb.on(TransactWriteCommand).resolves({});
    const store = dynamoWebhookStore(client, "webhooks");
    const after = applyWebhookPatch(disabled, { active: true }, new Date("2026-11-25T11:00:00.000Z"));

    // Act
    expect(await store.update(disabled, after)).toBe(true);

    // Assess
    const input = webhookWrite("Update");
    expect(input?.Key).toEqual({ pk: "TENANT#acme", sk: "WEBHOOK#wh_01" });
    expect(input?.ConditionExpression).toBe(
      "attribute_exists(#pk) AND #seen = :seen AND circuit_version = :from",
    );
    expect(input?.ExpressionAttributeValues).toMatchObject({
      ":seen": disabled.updatedAt,
      ":from": 3,
      ":version": 4,
      ":state": "closed",
      ":failures": 0,
    });
    const [, removed = ""] = (input?.UpdateExpression ?? "").split(" REMOVE ");
    for (const attribute of ["open_circuit", "circuit_opened_at", "probe_claimed_at"])
      expect(removed).toContain(attribute);
    const removedNames = removed.split(", ").map((name) => input?.ExpressionAttributeNames?.[name] ?? name);
    expect(removedNames).toContain("disabled_reason");
  });

  it("leaves the circuit out of a patch that does not touch it", async () => {
    ddb.on(TransactWriteCommand).resolves({});
    const store = dynamoWebhookStore(client, "webhooks");
    await store.update(disabled, applyWebhookPatch(disabled, { description: "x" }, new Date()));
    const input = webhookWrite("Update");
    expect(input?.UpdateExpression).not.toMatch(/circuit/);
    expect(input?.ConditionExpression).toBe("attribute_exists(#pk) AND #seen = :seen");
  });

  it("writes a filter as JSON text, moving the subscriptions version, and removes it when patched to null", async () => {
    ddb.on(TransactWriteCommand).resolves({});
    const store = dynamoWebhookStore(client, "webhooks");
    // Beyond JavaScript's safe integers: the document client would refuse this number in a map.
    const filter = { data: { amount: [{ numeric: [">=", 2 ** 60] }] } };
    const withFilter = applyWebhookPatch(disabled, { filter }, new Date("2026-11-25T11:00:00.000Z"));
    await store.update(disabled, withFilter);
    const set = webhookWrite("Update");
    const filterName = Object.entries(set.ExpressionAttributeNames ?? {}).find(
      ([, name]) => name === "filter",
    )?.[0];
    expect(set.ExpressionAttributeValues?.[`:${filterName?.slice(1)}`]).toBe(JSON.stringify(filter));

    await store.update(withFilter, applyWebhookPatch(withFilter, { filter: null }, new Date()));
    const [, removed = ""] = (webhookWrite("Update", 1).UpdateExpression ?? "").split(" REMOVE ");
    expect(removed.split(", ")).toContain(filterName);

    ddb.on(GetCommand).resolves({ Item: { id: "wh_01", tenant_id: "acme", filter: JSON.stringify(filter) } });
    expect((await store.get("acme", "wh_01"))?.filter).toEqual(filter);
  });

  it("says so when the webhook changed since it was read", async () => {
    ddb.on(TransactWriteCommand).rejects(cancelledOnCondition());
    const store = dynamoWebhookStore(client, "webhooks");
    expect(await store.update(disabled, applyWebhookPatch(disabled, { description: "x" }, new Date()))).toBe(
      false,
    );
  });
});

describe("the webhook store and secret rotation", () => {
  it("writes the new secret and the previous one with its expiry, conditional on the webhook read", async () => {
    // Prepare
    ddb.on(TransactWriteCommand).resolves({});
    const store = dynamoWebhookStore(client, "webhooks");
    const rotated = rotatedSecret(disabled, "whsec_new", new Date("2026-11-25T11:00:00.000Z"), 3600);

    // Act
    expect(await store.update(disabled, rotated)).toBe(true);

    // Assess
    const input = webhookWrite("Update");
    const written = Object.fromEntries(
      Object.entries(input?.ExpressionAttributeNames ?? {}).map(([alias, name]) => [
        name,
        input?.ExpressionAttributeValues?.[`:${alias.slice(1)}`],
      ]),
    );
    expect(written).toMatchObject({
      secret: "whsec_new",
      previous_secret: "whsec_x",
      previous_secret_expires_at: "2026-11-25T12:00:00.000Z",
    });
    expect(input?.ConditionExpression).toBe("attribute_exists(#pk) AND #seen = :seen");
    // The settings the old secret signed with are kept, to show past requests with; never a secret.
    const revision = transaction()[1]?.Put;
    expect(revision?.Item).toMatchObject({
      pk: "TENANT#acme",
      sk: "SENT#wh_01#2026-11-25T11:00:00.000Z",
      url: "https://example.com/hooks",
      headers: { "X-A": "1" },
    });
    expect(JSON.stringify(revision?.Item)).not.toContain("whsec_");
  });

  it("keeps no revision when a change leaves what requests are built from alone", async () => {
    ddb.on(TransactWriteCommand).resolves({});
    const store = dynamoWebhookStore(client, "webhooks");
    const after = applyWebhookPatch(disabled, { description: "x" }, new Date("2026-11-25T11:00:00.000Z"));
    expect(await store.update(disabled, after)).toBe(true);
    expect(transaction()).toHaveLength(1 + SUBSCRIPTION_SHARDS);
  });

  it("reads the previous secret back, and leaves it out when it was never set", async () => {
    const store = dynamoWebhookStore(client, "webhooks");
    const rotated = rotatedSecret(disabled, "whsec_new", new Date("2026-11-25T11:00:00.000Z"), 3600);
    ddb.on(TransactWriteCommand).resolves({});
    await store.create(rotated, 1000);
    const item = webhookWrite("Put").Item;
    ddb.on(GetCommand).resolves({ Item: item });
    expect(await store.get("acme", "wh_01")).toEqual(rotated);

    ddb.reset();
    ddb.on(TransactWriteCommand).resolves({});
    await store.create(disabled, 1000);
    const plain = webhookWrite("Put").Item;
    expect(plain).not.toHaveProperty("previous_secret");
    ddb.on(GetCommand).resolves({ Item: plain });
    expect(await store.get("acme", "wh_01")).not.toHaveProperty("previousSecret");
  });
});

describe("the webhook store's list", () => {
  it("queries only the caller's partition, newest first, whatever the cursor's position names", async () => {
    ddb.on(QueryCommand).resolves({ Items: [], LastEvaluatedKey: undefined });
    const store = dynamoWebhookStore(client, "webhooks");
    await store.list("acme", { limit: 10, after: { pk: "TENANT#globex", sk: "WEBHOOK#wh_9" } });
    const input = ddb.commandCalls(QueryCommand)[0]?.args[0].input;
    expect(input?.ExpressionAttributeValues?.[":pk"]).toBe("TENANT#acme");
    expect(input?.ExclusiveStartKey).toEqual({ pk: "TENANT#acme", sk: "WEBHOOK#wh_9" });
    expect(input?.ScanIndexForward).toBe(false);
  });

  it("reads on when a filter leaves the page short, and returns where it stopped", async () => {
    ddb
      .on(QueryCommand)
      .resolvesOnce({ Items: [], LastEvaluatedKey: { pk: "TENANT#acme", sk: "WEBHOOK#wh_5" } })
      .resolvesOnce({ Items: [], LastEvaluatedKey: { pk: "TENANT#acme", sk: "WEBHOOK#wh_2" } })
      .resolves({ Items: [] });
    const store = dynamoWebhookStore(client, "webhooks");
    const page = await store.list("acme", { limit: 2, active: true });
    expect(ddb.commandCalls(QueryCommand)).toHaveLength(3);
    expect(page).toEqual({ webhooks: [] });
  });
});

describe("the cursor key", () => {
  it("is created once with a conditional put, and the winner's key is used after a lost race", async () => {
    const winner = Buffer.alloc(32, 9).toString("base64");
    ddb
      .on(GetCommand)
      .resolvesOnce({})
      .resolves({ Item: { key: winner } });
    ddb.on(PutCommand).rejects(conditionalFailure());
    const key = dynamoCursorKey(client, "webhooks");
    expect(Buffer.from(await key()).toString("base64")).toBe(winner);
    expect(Buffer.from(await key()).toString("base64")).toBe(winner);
    expect(ddb.commandCalls(PutCommand)[0]?.args[0].input.ConditionExpression).toBe(
      "attribute_not_exists(#pk)",
    );
    expect(ddb.commandCalls(GetCommand)).toHaveLength(2);
  });

  it("is generated and kept when none exists", async () => {
    ddb.on(GetCommand).resolves({});
    ddb.on(PutCommand).resolves({});
    const key = dynamoCursorKey(client, "webhooks");
    const first = await key();
    expect(first).toHaveLength(32);
    expect(await key()).toBe(first);
    expect(ddb.commandCalls(PutCommand)).toHaveLength(1);
  });
});

describe("the webhook store counts a tenant's webhooks", () => {
  it("creates a webhook only while the tenant's count is under the limit, counting it in the same write", async () => {
    ddb.on(TransactWriteCommand).resolves({});
    expect(await dynamoWebhookStore(client, "webhooks").create(disabled, 7)).toBe(true);
    expectEveryVersionCopyMoved(transaction());
    const count = transaction()[1]?.Update;
    expect(count).toMatchObject({
      Key: { pk: "TENANT#acme", sk: "SUBSCRIPTIONS" },
      UpdateExpression: "ADD #count :by",
      ConditionExpression: "attribute_not_exists(#count) OR #count < :max",
      ExpressionAttributeNames: { "#count": "webhook_count" },
      ExpressionAttributeValues: { ":by": 1, ":max": 7 },
    });
  });

  it("answers false when the tenant is at its limit, and throws when the id exists", async () => {
    const store = dynamoWebhookStore(client, "webhooks");
    const cancelled = (failing: number) =>
      new TransactionCanceledException({
        message: "Transaction cancelled",
        $metadata: {},
        CancellationReasons: Array.from({ length: 2 + SUBSCRIPTION_SHARDS }, (_, index) => ({
          Code: index === failing ? "ConditionalCheckFailed" : "None",
        })),
      });
    ddb.on(TransactWriteCommand).rejects(cancelled(1));
    expect(await store.create(disabled, 7)).toBe(false);
    ddb.on(TransactWriteCommand).rejects(cancelled(0));
    await expect(store.create(disabled, 7)).rejects.toThrow("exists already");
  });

  it("counts a deleted webhook out in the transaction that deletes it, keeping its settings", async () => {
    ddb.on(GetCommand).resolves({
      Item: {
        id: "wh_01",
        tenant_id: "acme",
        url: "https://example.com/hooks",
        updated_at: disabled.updatedAt,
      },
    });
    ddb.on(TransactWriteCommand).resolves({});
    expect(await dynamoWebhookStore(client, "webhooks").remove("acme", "wh_01")).toBe(true);
    expectEveryVersionCopyMoved(transaction());
    const [deletion, count, revision] = transaction();
    expect(deletion?.Delete?.ExpressionAttributeValues).toEqual({ ":seen": disabled.updatedAt });
    expect(revision?.Put?.Item).toMatchObject({ url: "https://example.com/hooks" });
    expect(String(revision?.Put?.Item?.sk) > `SENT#wh_01#${disabled.updatedAt}`).toBe(true);
    expect(count?.Update).toMatchObject({
      Key: { pk: "TENANT#acme", sk: "SUBSCRIPTIONS" },
      UpdateExpression: "ADD #count :by",
      ExpressionAttributeValues: { ":by": -1 },
    });
    expect(count?.Update?.ConditionExpression).toBeUndefined();
  });
});

describe("the webhook store's circuit", () => {
  const closed = { state: "closed", consecutiveFailures: 4, version: 7 } as const;
  const open = {
    state: "open",
    consecutiveFailures: 5,
    openedAt: "2026-11-25T10:00:00.000Z",
    version: 8,
  } as const;

  it("moves the subscriptions version on in the write that opens a circuit, so cached healthy copies drop", async () => {
    ddb.on(TransactWriteCommand).resolves({});
    const store = dynamoWebhookStore(client, "webhooks");
    expect(await store.saveCircuit("acme", "wh_01", closed, open)).toBe(true);
    const items = transaction();
    expect(items).toHaveLength(1 + SUBSCRIPTION_SHARDS);
    expect(items[0]?.Update).toMatchObject({
      Key: { pk: "TENANT#acme", sk: "WEBHOOK#wh_01" },
      ConditionExpression: "attribute_exists(#pk) AND circuit_version = :from",
      ExpressionAttributeValues: { ":from": 7, ":state": "open", ":version": 8 },
    });
    expectEveryVersionCopyMoved(items);
  });

  it("answers false when the circuit moved on before it could open", async () => {
    ddb.on(TransactWriteCommand).rejects(cancelledOnCondition());
    const store = dynamoWebhookStore(client, "webhooks");
    expect(await store.saveCircuit("acme", "wh_01", closed, open)).toBe(false);
  });

  it("counts a failure below the threshold with one conditional update, leaving the version alone", async () => {
    ddb.on(UpdateCommand).resolves({});
    const store = dynamoWebhookStore(client, "webhooks");
    expect(
      await store.saveCircuit("acme", "wh_01", closed, { ...closed, consecutiveFailures: 5, version: 8 }),
    ).toBe(true);
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(0);
    expect(ddb.commandCalls(UpdateCommand)[0]?.args[0].input.Key).toEqual({
      pk: "TENANT#acme",
      sk: "WEBHOOK#wh_01",
    });
  });
});
