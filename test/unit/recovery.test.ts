import { describe, expect, it } from "vitest";
import { CLOSED_CIRCUIT } from "../../functions/domain/circuit.ts";
import { ConflictError, NotFoundError, ValidationError } from "../../functions/domain/errors.ts";
import { deliveryIdFor } from "../../functions/domain/ids.ts";
import type { DeliveryMessage } from "../../functions/domain/messages.ts";
import type { DeliveryStatus, Webhook } from "../../functions/domain/model.ts";
import type { DeadLetter, DeliveryPageRequest, StoredDelivery } from "../../functions/domain/ports.ts";
import {
  RECOVER_CAP,
  RECOVER_CONCURRENCY,
  RECOVER_TIME_BUDGET_MS,
  type RecoveryDeps,
  recoverWebhook,
  redriveDeadLetters,
  retryDelivery,
  type WebhookRecoveryDeps,
} from "../../functions/services/recovery.ts";
import { pendingDelivery } from "../support/memory-order-store.ts";

const NOW = new Date("2026-11-25T12:00:00Z");

function stored(id: string, status: DeliveryStatus, attemptCount: number): StoredDelivery {
  return { ...pendingDelivery(id, "2026-11-25T11:00:00.000Z"), status, attemptCount };
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

  it("redrives a delivery once when its dead letter is on the queue twice", async () => {
    const { deps, queued } = world([stored("d1", "dead_lettered", 6)]);
    const letter = reference("d1", { deadLetteredAt: "2026-11-25T11:30:00.000Z", attempt: 6 });
    const dlq = letters([letter, letter]);

    const summary = await redriveDeadLetters({ ...deps, deadLetters: dlq.source });

    expect(summary).toMatchObject({ redriven: 1, requeued: 0, settled: 1 });
    expect(queued.map((message) => message.deliveryId)).toEqual(["d1"]);
    expect(dlq.removed).toHaveLength(2);
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

describe("recoverWebhook", () => {
  const webhook: Webhook = {
    id: "wh_1",
    tenantId: "t1",
    url: "https://example.com/hooks",
    eventTypes: ["*"],
    description: "",
    active: true,
    secret: "whsec_x",
    createdAt: "2026-11-01T00:00:00.000Z",
    updatedAt: "2026-11-01T00:00:00.000Z",
    circuit: CLOSED_CIRCUIT,
  };

  /** A delivery of an event accepted `minutesAgo` before NOW, with a real (time-sorted) id. */
  function at(minutesAgo: number, n: number, status: DeliveryStatus): StoredDelivery {
    const created = new Date(NOW.getTime() - minutesAgo * 60_000);
    return {
      ...stored(deliveryIdFor(created, `evt_${n}`, "wh_1"), status, 2),
      createdAt: created.toISOString(),
    };
  }

  /** The world above, plus paging over the records as the DynamoDB store pages a webhook's partition. */
  function recoveryWorld(records: StoredDelivery[]) {
    const { deps, queued, byId } = world(records);
    const pages: DeliveryPageRequest[] = [];
    let inFlight = 0;
    let mostInFlight = 0;
    const recovery: WebhookRecoveryDeps = {
      ...deps,
      retentionDays: 30,
      queue: {
        async enqueue(messages) {
          inFlight += 1;
          mostInFlight = Math.max(mostInFlight, inFlight);
          await new Promise((resolve) => setTimeout(resolve, 1));
          queued.push(...messages);
          inFlight -= 1;
        },
      },
      deliveries: {
        ...deps.deliveries,
        async deliveryPage(_tenant, _webhook, request) {
          pages.push(request);
          const ids = [...byId.keys()]
            .filter((id) => id >= request.fromId && id <= request.toId)
            .sort()
            .filter((id) => request.afterId === undefined || id > request.afterId);
          const matching = ids
            .map((id) => byId.get(id) as StoredDelivery)
            .filter((d) => request.statuses === undefined || request.statuses.includes(d.status));
          const page = matching.slice(0, request.limit);
          const last = page.at(-1);
          return {
            deliveries: page,
            ...(last !== undefined && matching.length > page.length ? { lastId: last.id } : {}),
          };
        },
      },
    };
    return { deps: recovery, queued, byId, pages, mostInFlight: () => mostInFlight };
  }

  it("re-sends the failed and dead-lettered deliveries since a time, oldest first, and no others", async () => {
    const records = [
      at(120, 0, "dead_lettered"),
      at(50, 1, "dead_lettered"),
      at(40, 2, "failed"),
      at(30, 3, "delivered"),
      at(20, 4, "retrying"),
      at(10, 5, "dead_lettered"),
    ];
    const { deps, queued } = recoveryWorld(records);
    const summary = await recoverWebhook(deps, webhook, new Date(NOW.getTime() - 60 * 60_000));
    expect(summary).toEqual({ recovering: 3 });
    expect(queued.map((message) => message.deliveryId).sort()).toEqual(
      [records[1], records[2], records[5]].map((d) => d?.id).sort(),
    );
  });

  it(`stops at ${RECOVER_CAP} a request, says where to go on, and the next request sends the rest once`, async () => {
    const records = Array.from({ length: RECOVER_CAP + 50 }, (_, n) => at(600 - n * 0.1, n, "dead_lettered"));
    const { deps, queued, mostInFlight } = recoveryWorld(records);
    const first = await recoverWebhook(deps, webhook, new Date(NOW.getTime() - 24 * 3_600_000));
    expect(first.recovering).toBe(RECOVER_CAP);
    // Where it stopped: at the time of the last one it re-sent, at the latest that of the first it did not.
    const nextSince = first.nextSince ?? "";
    expect(nextSince >= (records[RECOVER_CAP - 1]?.createdAt ?? "")).toBe(true);
    expect(nextSince <= (records[RECOVER_CAP]?.createdAt ?? "")).toBe(true);
    expect(mostInFlight()).toBe(RECOVER_CONCURRENCY);
    const second = await recoverWebhook(deps, webhook, new Date(nextSince));
    // Those re-sent already are no longer dead-lettered: nothing goes twice.
    expect(second).toEqual({ recovering: 50 });
    expect(new Set(queued.map((message) => message.deliveryId)).size).toBe(RECOVER_CAP + 50);
    expect(queued).toHaveLength(RECOVER_CAP + 50);
  });

  it("starts no new page once its time budget is spent, and says where to go on", async () => {
    const records = Array.from({ length: 250 }, (_, n) => at(600 - n, n, "failed"));
    const { deps, queued } = recoveryWorld(records);
    // Each page read takes 60 % of the budget.
    let clock = NOW.getTime();
    const timed: WebhookRecoveryDeps = {
      ...deps,
      now: () => new Date(clock),
      deliveries: {
        ...deps.deliveries,
        async deliveryPage(tenant, webhookId, request) {
          clock += RECOVER_TIME_BUDGET_MS * 0.6;
          return deps.deliveries.deliveryPage(tenant, webhookId, request);
        },
      },
    };
    const first = await recoverWebhook(timed, webhook, new Date(NOW.getTime() - 24 * 3_600_000));
    expect(first).toEqual({ recovering: 200, nextSince: records[199]?.createdAt });
    const second = await recoverWebhook(timed, webhook, new Date(first.nextSince ?? ""));
    expect(second).toEqual({ recovering: 50 });
    expect(new Set(queued.map((message) => message.deliveryId)).size).toBe(250);
  });

  it("refuses an inactive webhook, a since in the future, and one beyond the retention period", async () => {
    const { deps, queued } = recoveryWorld([at(10, 0, "dead_lettered")]);
    await expect(
      recoverWebhook(deps, { ...webhook, active: false, disabledReason: "endpoint_gone" }, new Date(NOW)),
    ).rejects.toThrow(/endpoint_gone.*re-enable/);
    await expect(recoverWebhook(deps, webhook, new Date(NOW.getTime() + 1000))).rejects.toBeInstanceOf(
      ValidationError,
    );
    await expect(
      recoverWebhook(deps, webhook, new Date(NOW.getTime() - 31 * 86_400_000)),
    ).rejects.toBeInstanceOf(ValidationError);
    expect(queued).toEqual([]);
  });
});
