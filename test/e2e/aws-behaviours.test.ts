/**
 * What AWS does that the emulators don't, as the e2e stack models it (see global-setup.ts): reads that
 * may be stale see DynamoDB as it was a second ago, and Lambda stops SQS → Lambda chains after 16
 * invocations unless the function allows its loop. Hookline must deliver right through both.
 */
import { beforeAll, describe, expect, it } from "vitest";
import {
  answered,
  api,
  deliveryRecords,
  localStack,
  newTenant,
  useApiKey,
  webhookPath,
} from "../support/local-stack.ts";
import { eventually, Receiver } from "../support/receiver.ts";

const COOLDOWN_MS = 3_000;

let tenantId: string;
let receiver: Receiver;
beforeAll(async () => {
  const tenant = await newTenant("aws-behaviours");
  tenantId = tenant.tenantId;
  useApiKey(tenant.apiKey);
  receiver = await Receiver.start();
  return () => receiver.stop();
});

async function publish(type: string, data: Record<string, unknown>) {
  return answered(api().POST("/v1/events", { body: { type, data } }), 202);
}

async function shown(webhookId: string) {
  return answered(api().GET("/v1/webhooks/{webhookId}", webhookPath(webhookId)), 200);
}

async function finalRecord(webhookId: string, eventId: string) {
  return eventually(
    `the delivery of ${eventId} to end`,
    async () => {
      const records = await deliveryRecords(localStack(), tenantId, webhookId);
      const record = records.find((candidate) => candidate.event_id === eventId);
      return record && ["delivered", "failed", "dead_lettered"].includes(record.status) ? record : undefined;
    },
    30_000,
  );
}

describe("stale reads", () => {
  it("delivers events published right after each webhook change as the change says", async () => {
    const created = await answered(
      api().POST("/v1/webhooks", { body: { url: `${receiver.url}/first`, event_types: ["memory.created"] } }),
      201,
    );
    const webhookId = created.id;
    const first = await publish("memory.created", { n: 1 });
    expect(first.deliveries).toBe(1);
    expect(await finalRecord(webhookId, first.id)).toMatchObject({ status: "delivered" });
    expect(receiver.requests.filter((request) => request.path === "/hooks/first")).toHaveLength(1);

    await answered(
      api().PATCH("/v1/webhooks/{webhookId}", {
        ...webhookPath(webhookId),
        body: { url: `${receiver.url}/second` },
      }),
      200,
    );
    const second = await publish("memory.created", { n: 2 });
    expect(await finalRecord(webhookId, second.id)).toMatchObject({ status: "delivered" });
    const toSecond = receiver.requests.filter((request) => request.path === "/hooks/second");
    expect(toSecond.map((request) => JSON.parse(request.rawBody).id)).toEqual([second.id]);
    expect(receiver.requests.filter((request) => request.path === "/hooks/first")).toHaveLength(1);

    // A delivery still retrying when its webhook is deleted ends as deleted; nothing is sent after.
    receiver.status = 500;
    const third = await publish("memory.created", { n: 3 });
    await eventually("the first attempt of the third event", () =>
      receiver.requests.find((request) => JSON.parse(request.rawBody).id === third.id),
    );
    expect((await api().DELETE("/v1/webhooks/{webhookId}", webhookPath(webhookId))).response.status).toBe(
      204,
    );
    receiver.status = 200;
    const fourth = await publish("memory.created", { n: 4 });
    expect(fourth.deliveries).toBe(0);
    const ended = await finalRecord(webhookId, third.id);
    expect(ended).toMatchObject({ status: "failed" });
    expect(JSON.stringify(ended)).toContain("webhook_deleted");
    expect(receiver.requests.filter((request) => JSON.parse(request.rawBody).id === third.id)).toHaveLength(
      1,
    );
  });
});

describe("recursive loop detection", () => {
  it("keeps probing an endpoint down for 20 cooldowns, past Lambda's 16-invocation limit, and recovers", async () => {
    const down = await Receiver.start();
    try {
      down.status = 500;
      const created = await answered(
        api().POST("/v1/webhooks", {
          body: {
            url: down.url,
            event_types: ["sync.*"],
            // Long enough that the waiting deliveries outlive every failed probe they serve as.
            retry_schedule_seconds: Array.from({ length: 10 }, () => 1),
          },
        }),
        201,
      );
      const webhookId = created.id;
      await publish("sync.failed", { n: 0 });
      await eventually(
        "the circuit to open",
        async () => ((await shown(webhookId)).circuit_state === "open" ? true : undefined),
        30_000,
      );
      // Each probe is the oldest waiting delivery's next attempt: enough of them to outlast 20 probes.
      for (let n = 1; n <= 6; n += 1) await publish("sync.completed", { n });

      const failuresBeforeProbes = down.requests.length;
      const probesWanted = 20;
      await eventually(
        `${probesWanted} failed probes`,
        () => (down.requests.length >= failuresBeforeProbes + probesWanted ? true : undefined),
        probesWanted * COOLDOWN_MS * 3,
      );

      down.status = 200;
      const deliveries = await eventually(
        "every delivery to end",
        async () => {
          const records = await deliveryRecords(localStack(), tenantId, webhookId);
          return records.length === 7 &&
            records.every((record) => record.status === "delivered" || record.status === "dead_lettered")
            ? records
            : undefined;
        },
        90_000,
      );
      // Only a delivery whose whole schedule the probes used up is dead-lettered; the rest got through.
      for (const record of deliveries.filter((candidate) => candidate.status !== "delivered")) {
        expect(record).toMatchObject({ status: "dead_lettered", attempt_count: 11 });
      }
      expect(deliveries.filter((record) => record.status === "delivered").length).toBeGreaterThanOrEqual(4);
      expect(await shown(webhookId)).toMatchObject({ circuit_state: "closed" });
    } finally {
      await down.stop();
    }
  }, 300_000);
});
