/**
 * A chaos run on the e2e stack: a few hundred events to receivers that fail at random, answer slowly,
 * drop connections, hang, rate-limit and go down for a while. Afterwards the records and the receivers'
 * logs must agree, and every (event, webhook) pair must have exactly one record in a terminal state.
 */
import { beforeAll, expect, it } from "vitest";
import {
  type AcceptedEvent,
  type AuditedWebhook,
  audit,
  describeReport,
  settled,
  subscribesTo,
} from "../support/audit.ts";
import { answered, api, localStack, newTenant, useApiKey } from "../support/local-stack.ts";
import { type Behaviour, Receiver } from "../support/receiver.ts";

const EVENTS = 300;
const TYPES = ["memory.created", "memory.updated", "memory.deleted", "concept.discovered", "sync.completed"];

/** A small seeded generator, so a failing run can be replayed with the same chaos. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const seed = Number(process.env.CHAOS_SEED ?? Date.now() % 100_000);
const random = seeded(seed);

let tenantId: string;
beforeAll(async () => {
  const tenant = await newTenant("chaos");
  tenantId = tenant.tenantId;
  useApiKey(tenant.apiKey);
});

it(`delivers ${EVENTS} events through random failures with nothing lost or doubled in the records`, {
  timeout: 300_000,
}, async () => {
  let downUntil = 0;
  const behaviours: Record<string, (previous: number) => Behaviour> = {
    // Fails one request in five, drops one in twenty.
    flaky: () => {
      const roll = random();
      if (roll < 0.2) return { status: 500 };
      if (roll < 0.25) return "reset";
      return { status: 200, delayMs: Math.floor(random() * 30) };
    },
    // Slow, and now and then slower than the 2 s attempt timeout.
    slow: () => {
      if (random() < 0.04) return "hang";
      return { status: 200, delayMs: 100 + Math.floor(random() * 500) };
    },
    // Rate-limits and sheds load.
    picky: () => {
      const roll = random();
      if (roll < 0.1) return { status: 503 };
      if (roll < 0.2) return { status: 429, headers: { "retry-after": "1" } };
      return { status: 204 };
    },
    // Down for 4 s after its first request (its circuit opens), then healthy.
    outage: () => {
      const now = Date.now();
      if (downUntil === 0) downUntil = now + 4000;
      return now < downUntil ? { status: 502 } : { status: 200 };
    },
  };
  const subscriptions: Record<string, string[]> = {
    flaky: ["memory.*"],
    slow: ["*"],
    picky: ["memory.created", "concept.discovered"],
    outage: ["sync.*", "memory.deleted"],
  };

  const webhooks: AuditedWebhook[] = [];
  for (const [name, behave] of Object.entries(behaviours)) {
    const receiver = await Receiver.start();
    receiver.behave = (_request, previous) => behave(previous);
    const patterns = subscriptions[name] ?? [];
    const created = await answered(
      api().POST("/v1/webhooks", {
        body: { url: receiver.url, event_types: patterns, description: `chaos ${name}` },
      }),
      201,
    );
    webhooks.push({ id: created.id, receiver, subscribes: subscribesTo(patterns) });
  }

  const started = Date.now();
  const events: AcceptedEvent[] = [];
  const types = Array.from(
    { length: EVENTS },
    () => TYPES[Math.floor(random() * TYPES.length)] ?? "sync.completed",
  );
  for (let offset = 0; offset < EVENTS; offset += 10) {
    const published = await Promise.all(
      types
        .slice(offset, offset + 10)
        .map((type, index) =>
          answered(api().POST("/v1/events", { body: { type, data: { n: offset + index } } }), 202),
        ),
    );
    for (const { id, type } of published) events.push({ id, type });
  }

  await settled(localStack, tenantId, webhooks, events, 240_000);
  const report = await audit(localStack(), tenantId, webhooks, events);
  console.log(`${describeReport(`chaos (seed ${seed})`, report, Date.now() - started)}`);
  await Promise.all(webhooks.map((webhook) => webhook.receiver.stop()));

  expect(report.problems).toEqual([]);
  const expected = webhooks.reduce(
    (sum, webhook) => sum + events.filter((event) => webhook.subscribes(event.type)).length,
    0,
  );
  expect(report.deliveries).toBe(expected);
  // The schedule has room for six attempts; the chaos above almost never fails one six times running.
  expect(report.byStatus.delivered).toBeGreaterThan(expected * 0.95);
});
