/**
 * Crash safety: the local stack is killed with SIGKILL while events are being published and delivered
 * (delivery batches in flight, retry workflows waiting, fan-outs half done), then started again on the
 * same data. Every event the API accepted must still reach exactly one terminal record per webhook.
 */
import { copyFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, expect, it } from "vitest";
import {
  type AcceptedEvent,
  type AuditedWebhook,
  audit,
  describeReport,
  settled,
  subscribesTo,
} from "../support/audit.ts";
import { callApi, deliveryRecords, newTenant } from "../support/local-stack.ts";
import { eventually, Receiver } from "../support/receiver.ts";
import { dynamoDbLocalProcesses, type RunningStack, startStack } from "../support/start-stack.ts";
import { E2E_STACK_ENV } from "./global-setup.ts";

// The deployment's own reconciler grace (50 s, above the delivery queues' 45 s visibility timeout),
// not the end-to-end stack's shortened one: the recovery time printed is the one a deployment gets.
const { HOOKLINE_RECONCILE_GRACE: _shortGrace, ...CRASH_STACK_ENV } = E2E_STACK_ENV;

let stack: RunningStack | undefined;
const receivers: Receiver[] = [];

afterAll(async () => {
  await stack?.stop("SIGTERM");
  await Promise.all(receivers.map((receiver) => receiver.stop()));
});

it("loses no accepted event when the stack is SIGKILLed mid-run and started again", {
  timeout: 300_000,
}, async () => {
  stack = await startStack({ name: "crash", env: CRASH_STACK_ENV });
  const first = stack;
  const { tenantId, apiKey } = await newTenant("crash", first.info);

  const steady = await Receiver.start();
  steady.behave = () => ({ status: 200, delayMs: 20 + Math.floor(Math.random() * 60) });
  // Fails each delivery twice, so many wait in retry workflows when the stack dies.
  const recovering = await Receiver.start();
  recovering.behave = (_request, previous) => ({ status: previous < 2 ? 500 : 200 });
  // Slow enough that delivery batches are mid-flight at the kill.
  const slow = await Receiver.start();
  slow.behave = () => ({ status: 200, delayMs: 300 });
  receivers.push(steady, recovering, slow);

  const webhooks: AuditedWebhook[] = [];
  const subscriptions: [Receiver, string[]][] = [
    [steady, ["*"]],
    [recovering, ["memory.*"]],
    [slow, ["sync.completed", "memory.created"]],
  ];
  for (const [receiver, eventTypes] of subscriptions) {
    const created = await callApi("POST", "/v1/webhooks", {
      stack: first.info,
      apiKey,
      body: { url: receiver.url, event_types: eventTypes },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    webhooks.push({
      id: created.body.id,
      receiver,
      subscribes: subscribesTo(eventTypes),
    });
  }

  // Publish without pause until the stack dies; only events answered 202 count as accepted.
  const types = ["memory.created", "memory.updated", "sync.completed", "concept.discovered"];
  const accepted: AcceptedEvent[] = [];
  let publishing = true;
  const publisher = (async () => {
    for (let n = 0; publishing; n += 1) {
      const type = types[n % types.length] ?? "memory.created";
      try {
        const response = await callApi("POST", "/v1/events", {
          stack: first.info,
          apiKey,
          body: { type, data: { n } },
        });
        if (response.status === 202) accepted.push({ id: response.body.id, type });
      } catch {
        // The stack is gone mid-request: this event was never accepted.
      }
    }
  })();

  // The kill comes once about 40 events are accepted, while more are being published and delivered:
  // the same workload on a fast or a slow machine, so the recovery times printed compare. (Waiting
  // only for deliveries let a slow run publish half as many events again, and the receiver that
  // fails each delivery twice then took most of the time after the restart opening its circuit.)
  await eventually(
    "40 events accepted and deliveries under way",
    () =>
      accepted.length >= 40 && steady.requests.length >= 30 && recovering.requests.length >= 10
        ? true
        : undefined,
    60_000,
  );
  const before = (
    await Promise.all(webhooks.map((webhook) => deliveryRecords(first.info, tenantId, webhook.id)))
  ).flat();
  const inFlight = before.filter(
    (record) => !["delivered", "failed", "dead_lettered"].includes(record.status),
  );
  await first.stop("SIGKILL");
  publishing = false;
  await publisher;
  await eventually("DynamoDB Local to stop with the stack", () =>
    dynamoDbLocalProcesses(first.info.stateDir).length === 0 ? true : undefined,
  );
  // The restart writes its logs over the killed stack's; these keep what led up to the kill.
  for (const log of ["functions.log", "stack.log"]) {
    await copyFile(path.join(first.info.stateDir, log), path.join(first.info.stateDir, `killed-${log}`));
  }
  expect(inFlight.length).toBeGreaterThan(0);

  const restartedAt = Date.now();
  stack = await startStack({ name: "crash", fresh: false, env: CRASH_STACK_ENV });
  const second = stack;
  const readyAt = Date.now();
  const took = await settled(() => second.info, tenantId, webhooks, accepted, 180_000);
  const settledAt = Date.now();
  const report = await audit(second.info, tenantId, webhooks, accepted, { extraEvents: true });
  console.log(
    `${describeReport("crash safety", report, took)}; ${inFlight.length} deliveries were in flight at the kill; ` +
      recoveryTimeline(restartedAt, readyAt, settledAt, { steady, recovering, slow }),
  );
  expect(report.problems).toEqual([]);
  expect(report.byStatus.delivered).toBe(report.deliveries);
});

/**
 * Where the recovery time went, in seconds after the restart began: the stack's start (load makes it
 * vary most), each receiver's first and last request after the restart, and the failures it answered.
 */
function recoveryTimeline(
  restartedAt: number,
  readyAt: number,
  settledAt: number,
  receivers: Readonly<Record<string, Receiver>>,
): string {
  const after = (at: number) => `${((at - restartedAt) / 1000).toFixed(1)} s`;
  const perReceiver = Object.entries(receivers).map(([name, receiver]) => {
    const since = receiver.requests.filter((request) => request.receivedAt >= restartedAt);
    const first = since[0];
    const last = since.at(-1);
    if (!first || !last) return `${name} none`;
    const failed = since.filter((request) => request.answer !== 200).length;
    return `${name} ${since.length} (${failed} failed) from ${after(first.receivedAt)} to ${after(last.receivedAt)}`;
  });
  return (
    `after the restart: ready at ${after(readyAt)}; requests ${perReceiver.join(", ")}; ` +
    `all terminal ${after(settledAt)} after the restart began`
  );
}
