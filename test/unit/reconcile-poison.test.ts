import { GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { sqsLaneBacklogs } from "../../functions/adapters/delivery-queue.ts";
import type { DeadLetterMessage, DeliveryMessage } from "../../functions/domain/messages.ts";
import type { OverdueRecord, StoredDelivery } from "../../functions/domain/ports.ts";
import { type ReconcileDeps, reconcile } from "../../functions/services/reconcile.ts";
import { MAX_REDRIVES } from "../../functions/shared/limits.ts";
import { MetricName } from "../../functions/shared/names.ts";

const GRACE_SECONDS = 40;

/**
 * One delivery record on the due index, the reconciler's runs a grace period apart, and the delivery
 * function as a stub that does whatever `process` says with each re-driven message.
 */
function world(initial: Partial<StoredDelivery>, backlog = 0) {
  let clock = Date.parse("2026-11-25T12:00:00Z");
  let delivery: StoredDelivery = {
    id: "d1",
    tenantId: "t1",
    webhookId: "wh_1",
    eventId: "evt_1",
    eventType: "memory.created",
    status: "pending",
    attemptCount: 0,
    createdAt: "2026-11-25T11:59:00.000Z",
    scheduleStart: 0,
    parked: false,
    redrives: 0,
    ...initial,
  };
  let dueAt: string | undefined = "2026-11-25T11:59:40.000Z";
  const redriven: DeliveryMessage[] = [];
  const deadLetters: DeadLetterMessage[] = [];
  const metrics: string[] = [];
  const notUsed = async (): Promise<never> => {
    throw new Error("not used by these runs");
  };
  const key = { pk: "TENANT#t1#WEBHOOK#wh_1", sk: "DELIVERY#d1" };
  let lane = backlog;
  const runningRetryRuns = new Set<string>();
  /** Executions that ended having released their slot: their deliveries went to the lane. */
  const releasedRetryRuns = new Set<string>();
  let describeFails = false;
  const warnings: string[] = [];
  const deps: ReconcileDeps = {
    due: {
      async overdue(now) {
        return dueAt !== undefined && dueAt <= now.toISOString()
          ? [{ key, dueAt, kind: "delivery", delivery } satisfies OverdueRecord]
          : [];
      },
      async postpone(record, until, options) {
        if (record.dueAt !== dueAt) return false;
        dueAt = until;
        if (options?.redrive) delivery = { ...delivery, redrives: delivery.redrives + 1 };
        return true;
      },
    },
    publish: {
      catalogue: [],
      events: {
        insertIfAbsent: notUsed,
        markFannedOut: notUsed,
        extendFanOut: notUsed,
      },
      subscribers: {
        activeWebhookPage: notUsed,
        subscriberSnapshot: notUsed,
        subscriptionsUnchanged: notUsed,
      },
      deliveries: { createPending: notUsed },
      queue: {
        async enqueue(messages) {
          redriven.push(...messages);
        },
      },
      continueLater: notUsed,
      now: () => new Date(clock),
    },
    circuits: { countOpenCircuits: async () => 0 },
    openCircuitCountCap: 1000,
    backlogs: async () => () => lane,
    deliveries: {
      async settleDeadLetter() {
        if (delivery.status !== "dead_lettered") return false;
        dueAt = undefined;
        return true;
      },
      async failStalled(expected, reason, now) {
        if (expected.status !== delivery.status || expected.redrives !== delivery.redrives) return false;
        delivery = { ...delivery, status: "failed", lastError: reason, completedAt: now.toISOString() };
        dueAt = undefined;
        return true;
      },
    },
    async sendToDeadLetterQueue(message) {
      deadLetters.push(message);
    },
    async retryRunState(runName) {
      if (describeFails) throw new Error("ThrottlingException");
      if (runningRetryRuns.has(runName)) return "running";
      return releasedRetryRuns.has(runName) ? "released" : "stopped";
    },
    graceSeconds: GRACE_SECONDS,
    now: () => new Date(clock),
    log: {
      info: () => {},
      warn: (message) => {
        warnings.push(message);
      },
      error: () => {},
    },
    metrics: {
      addMetric: (name) => {
        metrics.push(name);
      },
    },
  };
  return {
    deps,
    /** One reconciler run a grace period (or `seconds`) after the last. */
    run: async (seconds = GRACE_SECONDS) => {
      clock += seconds * 1000;
      await reconcile(deps);
    },
    now: () => clock,
    setBacklog: (messages: number) => {
      lane = messages;
    },
    delivery: () => delivery,
    dueAt: () => dueAt,
    setDueAt: (at: string) => {
      dueAt = at;
    },
    runningRetryRuns,
    releasedRetryRuns,
    failDescribe: (fails: boolean) => {
      describeFails = fails;
    },
    warnings,
    redriven,
    deadLetters,
    metrics,
  };
}

describe("the reconciler and a delivery that is never processed (a poison message)", () => {
  it("re-drives it a bounded number of times, then fails it with a poison reason, counted", async () => {
    // Prepare: every re-driven message fails in the delivery function, so no step is ever recorded.
    const w = world({ status: "pending" });

    // Act
    for (let run = 0; run < 10; run++) await w.run();

    // Assess
    expect(w.redriven).toHaveLength(MAX_REDRIVES);
    expect(w.delivery()).toMatchObject({ status: "failed", lastError: expect.stringMatching(/^poison: /) });
    expect(w.dueAt()).toBeUndefined();
    expect(w.metrics.filter((name) => name === MetricName.deliveriesPoisoned)).toHaveLength(1);
  });

  it("does not count the runs a pending delivery waits behind its lane's backlog", async () => {
    const w = world({ status: "pending" }, 5);

    for (let run = 0; run < 10; run++) await w.run();

    expect(w.redriven).toEqual([]);
    expect(w.delivery()).toMatchObject({ status: "pending", redrives: 0 });
  });

  it("looks again within seconds at a pending delivery behind a backlog, and drives it once the lane drains", async () => {
    const w = world({ status: "pending" }, 5);
    await w.run();
    expect(w.redriven).toEqual([]);
    const recheckInSeconds = (Date.parse(w.dueAt() ?? "") - w.now()) / 1000;
    expect(recheckInSeconds).toBeGreaterThan(0);
    expect(recheckInSeconds).toBeLessThan(GRACE_SECONDS / 2);

    w.setBacklog(0);
    await w.run(recheckInSeconds);

    expect(w.redriven).toEqual([expect.objectContaining({ deliveryId: "d1", resumed: true })]);
  });

  it("keeps re-driving a retrying delivery whose lane is busy, without counting it as poison", async () => {
    const w = world({ status: "retrying", attemptCount: 2 }, 5);

    for (let run = 0; run < 10; run++) await w.run();

    expect(w.redriven).toHaveLength(10);
    expect(w.delivery()).toMatchObject({ status: "retrying", redrives: 0 });
  });

  it("sends the dead-letter message of a delivery marked dead_lettered that a crash left unsent, once", async () => {
    const w = world({ status: "dead_lettered", attemptCount: 6, completedAt: "2026-11-25T11:59:00.000Z" });

    for (let run = 0; run < 3; run++) await w.run();

    expect(w.deadLetters).toEqual([expect.objectContaining({ deliveryId: "d1", attempt: 6 })]);
    expect(w.redriven).toEqual([]);
    expect(w.dueAt()).toBeUndefined();
  });
});

describe("the reconciler and a retrying delivery's workflow", () => {
  const RUN = "wh_1-at-1764072000";
  const retrying = (overrides: Partial<StoredDelivery> = {}) =>
    world({
      status: "retrying",
      attemptCount: 1,
      nextAttemptAt: "2026-11-25T12:00:00.000Z",
      retryRun: RUN,
      ...overrides,
    });

  it("drives it on at once when its execution no longer runs (a crash lost it, or it failed)", async () => {
    const w = retrying();
    w.setDueAt("2026-11-25T12:00:10.000Z");

    await w.run(12);

    expect(w.redriven).toEqual([expect.objectContaining({ deliveryId: "d1", attempt: 2, resumed: true })]);
    expect(w.delivery().redrives).toBe(1);
  });

  it("leaves it to a running execution, looking again a grace later, and drives it on once that ends", async () => {
    const w = retrying();
    w.setDueAt("2026-11-25T12:00:10.000Z");
    w.runningRetryRuns.add(RUN);

    await w.run(12);
    expect(w.redriven).toEqual([]);
    expect(w.delivery().redrives).toBe(0);
    expect((Date.parse(w.dueAt() ?? "") - w.now()) / 1000).toBe(GRACE_SECONDS);

    w.runningRetryRuns.delete(RUN);
    await w.run();
    expect(w.redriven).toHaveLength(1);
  });

  it("leaves one its released slot sent to a busy lane to that message, and drives it on once the lane is quiet", async () => {
    const w = retrying();
    w.setDueAt("2026-11-25T12:00:10.000Z");
    w.releasedRetryRuns.add(RUN);
    w.setBacklog(3);

    await w.run(12);
    expect(w.redriven).toEqual([]);
    expect(Date.parse(w.dueAt() ?? "")).toBeLessThanOrEqual(w.now() + 5_000);

    w.setBacklog(0);
    await w.run(5);
    expect(w.redriven).toEqual([expect.objectContaining({ deliveryId: "d1", attempt: 2, resumed: true })]);
  });

  it("drives on one whose execution stopped at once, whatever its lane holds", async () => {
    const w = retrying();
    w.setDueAt("2026-11-25T12:00:10.000Z");
    w.setBacklog(3);

    await w.run(12);

    expect(w.redriven).toEqual([expect.objectContaining({ deliveryId: "d1", attempt: 2 })]);
  });

  it("treats an execution it cannot ask about as running, and says so", async () => {
    const w = retrying();
    w.setDueAt("2026-11-25T12:00:10.000Z");
    w.failDescribe(true);

    await w.run(12);

    expect(w.redriven).toEqual([]);
    expect(w.warnings).toContainEqual(expect.stringContaining("could not ask whether a retry workflow"));
  });

  it("leaves a record that names no execution (an older version's) to its workflow until a grace past its next attempt", async () => {
    const w = retrying({ retryRun: undefined });
    w.setDueAt("2026-11-25T12:00:10.000Z");

    await w.run(12);
    expect(w.redriven).toEqual([]);

    await w.run();
    expect(w.redriven).toHaveLength(1);
  });

  it("does not ask about a parked delivery: its probe, not its workflow, drives it on", async () => {
    const w = retrying({ parked: true });
    w.setDueAt("2026-11-25T12:00:10.000Z");
    w.runningRetryRuns.add(RUN);

    await w.run(12);

    expect(w.redriven).toHaveLength(1);
  });
});

describe("a delivery a closing circuit released", () => {
  const released = (backlog: number) =>
    world(
      {
        status: "retrying",
        attemptCount: 1,
        retryRun: "wh_1-at-1764072000",
        releasedAt: "2026-11-25T11:59:30.000Z",
      },
      backlog,
    );

  it("is driven on as soon as it is overdue once its lane is quiet: the releaser died before sending it", async () => {
    const w = released(0);
    // The workflow that parked it is not what carries it now: it is not asked about.
    w.runningRetryRuns.add("wh_1-at-1764072000");

    await w.run(1);

    expect(w.redriven.map((message) => message.deliveryId)).toEqual(["d1"]);
  });

  it("is left to the message its releaser sent while its lane holds messages, and looked at again soon", async () => {
    const w = released(4);

    await w.run(1);
    expect(w.redriven).toEqual([]);
    expect(Date.parse(w.dueAt() ?? "")).toBeLessThanOrEqual(w.now() + 5_000);

    w.setBacklog(0);
    await w.run(5);
    expect(w.redriven).toHaveLength(1);
  });
});

describe("a reconciler run that dies part-way", () => {
  it("has sent the messages of the deliveries it claimed before, a batch at a time, so only the rest wait a grace", async () => {
    const w = world({});
    const records: OverdueRecord[] = Array.from({ length: 12 }, (_, n) => ({
      key: { pk: "TENANT#t1#WEBHOOK#wh_1", sk: `DELIVERY#d${n}` },
      dueAt: "2026-11-25T11:59:40.000Z",
      kind: "delivery",
      delivery: { ...w.delivery(), id: `d${n}` },
    }));
    let claims = 0;
    const dying: ReconcileDeps = {
      ...w.deps,
      due: {
        overdue: async () => records,
        async postpone() {
          claims += 1;
          if (claims === records.length) throw new Error("the reconciler died");
          return true;
        },
      },
    };

    await expect(reconcile(dying)).rejects.toThrow("died");

    expect(w.redriven.map((message) => message.deliveryId)).toEqual(
      Array.from({ length: 10 }, (_, n) => `d${n}`),
    );
  });
});

describe("a lane's backlog, as the reconciler reads it", () => {
  const sqs = mockClient(SQSClient);
  afterEach(() => sqs.reset());

  /** An event type's backlog as the reconciler reads it, from the lane's attributes as SQS reports them. */
  async function backlogWith(attributes: Record<string, string>): Promise<number> {
    sqs.on(GetQueueAttributesCommand).resolves({ Attributes: attributes });
    const backlogOf = await sqsLaneBacklogs(new SQSClient({}), {
      queueUrl: "https://sqs/queue",
      priorityQueueUrl: "https://sqs/priority",
      priorityTypes: new Set(),
    })();
    return backlogOf("memory.created");
  }

  it("counts the messages in flight, which may be the very ones overdue records wait for", async () => {
    expect(
      await backlogWith({ ApproximateNumberOfMessages: "0", ApproximateNumberOfMessagesNotVisible: "3" }),
    ).toBe(3);
  });

  it("counts the messages sent with a delay: a delivery waiting for its webhook's in-flight slot is not lost", async () => {
    expect(
      await backlogWith({
        ApproximateNumberOfMessages: "0",
        ApproximateNumberOfMessagesNotVisible: "0",
        ApproximateNumberOfMessagesDelayed: "2",
      }),
    ).toBe(2);
  });
});
