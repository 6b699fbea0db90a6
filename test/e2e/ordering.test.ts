/**
 * Ordered delivery through the local stack: a webhook with `ordering: "fifo"` gets its events one at a
 * time in the order they were accepted, a failing one holding the later ones through its retries, while
 * an unordered webhook of the same tenant goes on meanwhile; and a crash mid-run keeps the order.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import type { HooklineSchema } from "../../client/index.ts";
import { answered, api, callApi, newTenant, useApiKey } from "../support/local-stack.ts";
import { eventually, type ReceivedRequest, Receiver } from "../support/receiver.ts";
import { dynamoDbLocalProcesses, type RunningStack, startStack } from "../support/start-stack.ts";
import { E2E_STACK_ENV } from "./global-setup.ts";

let receiver: Receiver;
beforeAll(async () => {
  receiver = await Receiver.start();
  return () => receiver.stop();
});

/** A second stack starts beside the shared one, on a loaded machine: it may take a while. */
const STACK_START_MS = 240_000;

let crashStack: RunningStack | undefined;
afterAll(async () => {
  await crashStack?.stop("SIGTERM");
});

/**
 * Waits for a freshly started stack's API to answer: on a loaded machine its first cold start can
 * exceed Lambda's 10 s init limit (which the local runtime models) and answer 500 once or twice.
 */
async function apiAnswers(stack: RunningStack): Promise<void> {
  await eventually(
    "the API to answer",
    async () => ((await fetch(`${stack.info.apiUrl}/v1/openapi.json`)).ok ? true : undefined),
    120_000,
  );
}

/** The event's sequence number, as published in its data. */
function sequenceOf(request: ReceivedRequest): number {
  return (JSON.parse(request.rawBody) as { data: { n: number } }).data.n;
}

/** The sequence numbers one webhook's path received, in arrival order (every attempt). */
function arrivals(path: string, requests: readonly ReceivedRequest[] = receiver.requests): number[] {
  return requests.filter((request) => request.path === `/hooks/${path}`).map(sequenceOf);
}

/** Drops a request repeated back to back (the same delivery sent again after a crash). */
function collapsed(sequence: readonly number[]): number[] {
  return sequence.filter((n, index) => index === 0 || sequence[index - 1] !== n);
}

it("delivers a fifo webhook's events one at a time in publish order, the 3rd after its retries, while an unordered webhook goes on", {
  timeout: 240_000,
}, async () => {
  const tenant = await newTenant("ordering");
  useApiKey(tenant.apiKey);
  // The 3rd event (n = 2) fails twice at the ordered webhook, then is taken.
  receiver.behave = (request, previous) =>
    request.path === "/hooks/fifo" && sequenceOf(request) === 2 && previous < 2
      ? { status: 500 }
      : { status: 200 };

  const create = (path: string, ordering?: HooklineSchema<"CreateWebhook">["ordering"]) =>
    answered(
      api().POST("/v1/webhooks", {
        body: {
          url: `${receiver.url}/${path}`,
          event_types: ["memory.created"],
          ...(ordering === undefined ? {} : { ordering }),
        },
      }),
      201,
    );
  const fifo = await create("fifo", "fifo");
  const plain = await create("plain");
  expect(fifo.ordering).toBe("fifo");
  expect(plain.ordering).toBe("none");
  const shown = await answered(
    api().GET("/v1/webhooks/{webhookId}", { params: { path: { webhookId: fifo.id } } }),
    200,
  );
  expect(shown.ordering).toBe("fifo");
  // Orderings the document does not allow, which only a hand-written request can send.
  for (const ordering of ["lifo", null, "FIFO"]) {
    const refused = await callApi("PATCH", `/v1/webhooks/${fifo.id}`, { body: { ordering } });
    expect(refused.status, JSON.stringify(ordering)).toBe(400);
    expect(refused.body.error.details.map((d: { path: string }) => d.path)).toContain("ordering");
  }

  const count = 50;
  for (let n = 0; n < count; n += 1) {
    await answered(api().POST("/v1/events", { body: { type: "memory.created", data: { n } } }), 202);
  }

  const delivered = (path: string) =>
    new Set(
      receiver.requests
        .filter((request) => request.path === `/hooks/${path}` && request.answer === 200)
        .map(sequenceOf),
    ).size;
  await eventually(
    "every event to reach both webhooks",
    () => (delivered("fifo") === count && delivered("plain") === count ? true : undefined),
    200_000,
  );

  const sequence = Array.from({ length: count }, (_, n) => n);
  // Every attempt, in the order the receiver took them: the 3rd three times, nothing later before its end.
  expect(arrivals("fifo")).toEqual([0, 1, 2, 2, 2, ...sequence.slice(3)]);
  const fifoAnswers = receiver.requests
    .filter((request) => request.path === "/hooks/fifo")
    .map((r) => r.answer);
  expect(fifoAnswers.slice(2, 5)).toEqual([500, 500, 200]);

  // Not slowed by it: by the time the ordered webhook's 3rd event got through, the unordered one
  // already had later events, and more of them than the ordered one had.
  const thirdTaken = receiver.requests.findIndex(
    (request) => request.path === "/hooks/fifo" && sequenceOf(request) === 2 && request.answer === 200,
  );
  const before = receiver.requests.slice(0, thirdTaken);
  const plainBefore = new Set(arrivals("plain", before));
  expect(plainBefore.has(3)).toBe(true);
  expect(plainBefore.size).toBeGreaterThan(new Set(arrivals("fifo", before)).size);
});

it("keeps a fifo webhook's order across a SIGKILL of the stack mid-run", { timeout: 900_000 }, async () => {
  crashStack = await startStack({ name: "ordering-crash", env: E2E_STACK_ENV, timeoutMs: STACK_START_MS });
  const first = crashStack;
  await apiAnswers(first);
  const { apiKey } = await newTenant("ordering-crash", first.info);
  const crashReceiver = await Receiver.start();
  // Slow enough that the kill falls mid-run, with one delivery in flight.
  crashReceiver.behave = () => ({ status: 200, delayMs: 400 });
  try {
    const firstApi = api({ stack: first.info, apiKey });
    await answered(
      firstApi.POST("/v1/webhooks", {
        body: { url: `${crashReceiver.url}/fifo`, event_types: ["memory.created"], ordering: "fifo" },
      }),
      201,
    );

    const count = 25;
    for (let n = 0; n < count; n += 1) {
      await answered(firstApi.POST("/v1/events", { body: { type: "memory.created", data: { n } } }), 202);
    }
    await eventually(
      "a few deliveries to be made",
      () => (crashReceiver.requests.length >= 6 ? true : undefined),
      60_000,
    );
    await first.stop("SIGKILL");
    const atKill = crashReceiver.requests.length;
    await eventually("DynamoDB Local to stop with the stack", () =>
      dynamoDbLocalProcesses(first.info.stateDir).length === 0 ? true : undefined,
    );
    expect(atKill).toBeLessThan(count);

    crashStack = await startStack({
      name: "ordering-crash",
      fresh: false,
      env: E2E_STACK_ENV,
      timeoutMs: STACK_START_MS,
    });
    await apiAnswers(crashStack);
    await eventually(
      "every event to arrive after the restart",
      () => (new Set(crashReceiver.requests.map(sequenceOf)).size === count ? true : undefined),
      240_000,
    );
    // At least once: the delivery in flight at the kill may come again, but right after itself.
    expect(collapsed(crashReceiver.requests.map(sequenceOf))).toEqual(
      Array.from({ length: count }, (_, n) => n),
    );
  } finally {
    await crashReceiver.stop();
  }
});
