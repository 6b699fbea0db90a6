/**
 * What operators see: the metrics the functions emit (as the local runtime aggregates their EMF lines
 * at /_local/metrics) match what really happened, and the logs never carry secrets or payloads.
 * Metrics are global to a stack, so this file runs its own: no other test's retries can add to them.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { answered, api as client, type LocalStackInfo, newTenant } from "../support/local-stack.ts";
import { eventually, Receiver } from "../support/receiver.ts";
import { type RunningStack, startStack } from "../support/start-stack.ts";
import { E2E_STACK_ENV } from "./global-setup.ts";

interface Metric {
  namespace: string;
  name: string;
  unit: string;
  dimensions: Record<string, string>;
  sum: number;
  count: number;
  last: number;
}

async function metricsNow(): Promise<Metric[]> {
  const response = await fetch(`${stack().apiUrl}/_local/metrics`);
  expect(response.status).toBe(200);
  return ((await response.json()) as { metrics: Metric[] }).metrics;
}

function total(metrics: Metric[], name: string, field: "sum" | "count" = "sum"): number {
  return metrics.filter((metric) => metric.name === name).reduce((sum, metric) => sum + metric[field], 0);
}

let running: RunningStack | undefined;
let receiver: Receiver;
let apiKey: string;

function stack(): LocalStackInfo {
  if (!running) throw new Error("the observability stack is not running");
  return running.info;
}

/** The typed client on this file's own stack, as its tenant. */
function hookline() {
  return client({ stack: stack(), apiKey });
}

function publish(type: string, data: Record<string, unknown>) {
  return answered(hookline().POST("/v1/events", { body: { type, data } }), 202);
}

beforeAll(async () => {
  running = await startStack({ name: "observability", env: E2E_STACK_ENV });
  apiKey = (await newTenant("observability", running.info)).apiKey;
  receiver = await Receiver.start();
});
afterAll(async () => {
  await receiver?.stop();
  await running?.stop("SIGTERM");
});

async function registerWebhook(eventTypes: string[]) {
  return answered(
    hookline().POST("/v1/webhooks", {
      body: { url: receiver.url, event_types: eventTypes },
    }),
    201,
  );
}

async function deliveredCount(webhookId: string): Promise<number> {
  const listed = await answered(
    hookline().GET("/v1/webhooks/{webhookId}/deliveries", {
      params: { path: { webhookId }, query: { status: "delivered" } },
    }),
    200,
  );
  return listed.data.length;
}

describe("metrics", () => {
  it("count what happened: N deliveries make DeliveriesSucceeded grow by exactly N", async () => {
    const before = await metricsNow();
    const webhook = await registerWebhook(["quota.warning"]);
    const failing = await Receiver.start();
    failing.status = 422;
    await answered(
      hookline().POST("/v1/webhooks", { body: { url: failing.url, event_types: ["quota.exceeded"] } }),
      201,
    );
    const events = 7;
    for (let n = 0; n < events; n += 1) await publish("quota.warning", { n });
    await publish("quota.exceeded", {});
    await eventually("every delivery to be delivered", async () =>
      (await deliveredCount(webhook.id)) === events ? true : undefined,
    );

    const after = await eventually("the metrics to be flushed", async () => {
      const current = await metricsNow();
      const grown = total(current, "DeliveriesSucceeded") - total(before, "DeliveriesSucceeded");
      const failed = total(current, "DeliveriesFailed") - total(before, "DeliveriesFailed");
      return grown >= events && failed >= 1 ? current : undefined;
    });
    await failing.stop();
    const delta = (name: string, field: "sum" | "count" = "sum") =>
      total(after, name, field) - total(before, name, field);
    expect(delta("DeliveriesSucceeded")).toBe(events);
    expect(delta("DeliveriesFailed")).toBe(1);
    expect(delta("EventsPublished")).toBe(events + 1);
    expect(delta("DeliveriesCreated")).toBe(events + 1);
    expect(delta("DeliveryAttempts")).toBe(events + 1);
    expect(delta("AttemptDuration", "count")).toBe(events + 1);
    expect(delta("EndToEndLatency", "count")).toBe(events);

    // Low cardinality: one namespace, and the service as the only dimension.
    for (const metric of after) {
      expect(metric.namespace).toBe("Hookline");
      expect(metric.dimensions).toEqual({ service: "hookline" });
    }
    const latency = after.find((metric) => metric.name === "EndToEndLatency");
    expect(latency?.unit).toBe("Milliseconds");
  });
});

describe("the open-circuits gauge", () => {
  it("reads 1 while a webhook's circuit is open, as the reconciler counts it", async () => {
    const down = await Receiver.start();
    down.status = 503;
    const created = await answered(
      hookline().POST("/v1/webhooks", { body: { url: down.url, event_types: ["session.ended"] } }),
      201,
    );
    const webhookPath = { params: { path: { webhookId: created.id } } };
    const gauge = async () => (await metricsNow()).find((metric) => metric.name === "OpenCircuits")?.last;
    expect(await eventually("the gauge to be published", gauge)).toBe(0);
    await publish("session.ended", {});
    await eventually("the circuit to open", async () => {
      const webhook = await answered(hookline().GET("/v1/webhooks/{webhookId}", webhookPath), 200);
      return webhook.circuit_state === "open" ? true : undefined;
    });
    await eventually("the gauge to read 1", async () => ((await gauge()) === 1 ? true : undefined));
    await down.stop();
    await hookline().DELETE("/v1/webhooks/{webhookId}", webhookPath);
  });
});

describe("logs", () => {
  it("never carry the signing secret, the signature, the API key or the payload", async () => {
    const webhook = await registerWebhook(["user.created"]);
    const marker = `payload-marker-${Date.now()}`;
    await publish("user.created", { email: `${marker}@example.com`, note: marker });
    const request = await eventually("the delivery", () =>
      receiver.requests.find((r) => r.rawBody.includes(marker)),
    );
    await eventually("the delivery to be recorded", async () =>
      (await deliveredCount(webhook.id)) === 1 ? true : undefined,
    );

    // Function output only: the stack's own banner prints the development key on purpose.
    const functionLines = readFileSync(path.join(stack().stateDir, "functions.log"), "utf8")
      .split("\n")
      .filter((line) => line.startsWith("[Hookline"));
    expect(functionLines.some((line) => line.includes(webhook.id))).toBe(true);
    const secretKey = webhook.secret.slice("whsec_".length);
    const signature = String(request.headers["webhook-signature"]).split(",")[1] ?? "";
    for (const forbidden of [webhook.secret, secretKey, signature, apiKey, marker]) {
      expect(forbidden.length).toBeGreaterThan(10);
      expect(functionLines.filter((line) => line.includes(forbidden))).toEqual([]);
    }
  });
});
