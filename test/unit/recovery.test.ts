import { describe, expect, it } from "vitest";
import type { StoredDelivery } from "../../functions/adapters/delivery-store.ts";
import {
  type DeadLetter,
  type RecoveryDeps,
  redriveDeadLetters,
  retryDelivery,
} from "../../functions/delivery/recovery.ts";
import { ConflictError, NotFoundError } from "../../functions/domain/errors.ts";
import type { DeliveryMessage, DeliveryStatus } from "../../functions/domain/model.ts";

const NOW = new Date("2026-11-25T12:00:00Z");

function stored(id: string, status: DeliveryStatus, attemptCount: number): StoredDelivery {
  return {
    id,
    tenantId: "t1",
    webhookId: "wh_1",
    eventId: `evt_${id}`,
    eventType: "memory.created",
    status,
    attemptCount,
    createdAt: "2026-11-25T11:00:00.000Z",
    scheduleStart: 0,
    parked: false,
  };
}

/** Deliveries by id, re-opened the way the DynamoDB store does: only from failed or dead_lettered. */
function world(records: StoredDelivery[]) {
  const byId = new Map(records.map((record) => [record.id, record]));
  const queued: DeliveryMessage[] = [];
  const deps: RecoveryDeps = {
    deliveries: {
      async get(_tenant, _webhook, id) {
        return byId.get(id);
      },
      async reopen(_tenant, _webhook, id) {
        const current = byId.get(id);
        if (!current || (current.status !== "failed" && current.status !== "dead_lettered")) return undefined;
        const reopened = { ...current, status: "pending" as const, scheduleStart: current.attemptCount };
        byId.set(id, reopened);
        return reopened;
      },
    },
    queue: {
      async enqueue(messages) {
        queued.push(...messages);
      },
    },
    now: () => NOW,
  };
  return { deps, queued, byId };
}

function letters(bodies: string[]) {
  const waiting: DeadLetter[] = bodies.map((body, index) => ({
    messageId: `m${index}`,
    body,
    receiptHandle: `r${index}`,
  }));
  const removed: string[] = [];
  return {
    removed,
    source: {
      async receive() {
        return waiting.splice(0, 10);
      },
      async remove(done: readonly DeadLetter[]) {
        removed.push(...done.map((letter) => letter.messageId));
      },
    },
  };
}

const reference = (deliveryId: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ tenantId: "t1", webhookId: "wh_1", deliveryId, ...extra });

describe("retryDelivery", () => {
  it("re-opens a dead-lettered delivery and queues its next attempt on a fresh schedule", async () => {
    const { deps, queued } = world([stored("d1", "dead_lettered", 6)]);
    const reopened = await retryDelivery(deps, "t1", "wh_1", "d1");
    expect(reopened).toMatchObject({ status: "pending", scheduleStart: 6 });
    expect(queued).toEqual([
      expect.objectContaining({ deliveryId: "d1", attempt: 7, scheduleStart: 6, resumed: true }),
    ]);
  });

  it("answers not found for a missing delivery and conflict for one still in flight", async () => {
    const { deps, queued } = world([stored("d1", "retrying", 2)]);
    await expect(retryDelivery(deps, "t1", "wh_1", "nope")).rejects.toBeInstanceOf(NotFoundError);
    await expect(retryDelivery(deps, "t1", "wh_1", "d1")).rejects.toBeInstanceOf(ConflictError);
    expect(queued).toEqual([]);
  });
});

describe("redriveDeadLetters", () => {
  it("sends every dead-lettered delivery again and removes it from the queue, in pages of ten", async () => {
    const records = Array.from({ length: 23 }, (_, n) => stored(`d${n}`, "dead_lettered", 6));
    const { deps, queued } = world(records);
    const dlq = letters(records.map((record) => reference(record.id, { deadLetteredAt: "x", attempt: 6 })));
    const progress: number[] = [];
    const summary = await redriveDeadLetters({ ...deps, deadLetters: dlq.source }, (p) =>
      progress.push(p.redriven),
    );
    expect(summary).toEqual({ redriven: 23, requeued: 0, settled: 0, probesDropped: 0, unrecognised: 0 });
    expect(queued.map((message) => message.attempt)).toEqual(Array(23).fill(7));
    expect(dlq.removed).toHaveLength(23);
    expect(progress).toEqual([10, 20, 23]);
  });

  it("re-queues a stuck delivery, removes settled ones and probes, and leaves what it does not recognise", async () => {
    const { deps, queued } = world([
      stored("stuck", "pending", 0),
      stored("done", "delivered", 2),
      stored("failed", "failed", 1),
    ]);
    const dlq = letters([
      reference("stuck", { attempt: 1, scheduleStart: 0 }),
      reference("done"),
      reference("gone"),
      reference("failed"),
      JSON.stringify({ kind: "probe", tenantId: "t1", webhookId: "wh_1" }),
      "not json",
      JSON.stringify({ something: "else" }),
    ]);
    const summary = await redriveDeadLetters({ ...deps, deadLetters: dlq.source });
    expect(summary).toEqual({ redriven: 1, requeued: 1, settled: 2, probesDropped: 1, unrecognised: 2 });
    expect(queued.map((message) => [message.deliveryId, message.attempt])).toEqual([
      ["stuck", 1],
      ["failed", 2],
    ]);
    expect(dlq.removed).toEqual(["m0", "m1", "m2", "m3", "m4"]);
  });
});
