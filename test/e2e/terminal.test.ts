/**
 * What a developer sees in the terminal of `npm start`: one readable line per delivery attempt and per
 * circuit change, while the functions' raw logs and metric lines go to `<stateDir>/functions.log`. The
 * e2e stack runs as `npm start` does; its terminal output is kept in `<stateDir>/stack.log`
 * (test/support/start-stack.ts).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { answered, api, localStack, newTenant, useApiKey } from "../support/local-stack.ts";
import { eventually, Receiver } from "../support/receiver.ts";

let healthy: Receiver;
let failing: Receiver;
const webhooks: string[] = [];

const terminal = () => readFileSync(path.join(localStack().stateDir, "stack.log"), "utf8");
const functionsLog = () => readFileSync(path.join(localStack().stateDir, "functions.log"), "utf8");

beforeAll(async () => {
  useApiKey((await newTenant("terminal")).apiKey);
  healthy = await Receiver.start();
  failing = await Receiver.start();
  failing.status = 500;
});
afterAll(async () => {
  for (const webhookId of webhooks) {
    await api().DELETE("/v1/webhooks/{webhookId}", { params: { path: { webhookId } } });
  }
  await healthy?.stop();
  await failing?.stop();
});

async function registerWebhook(url: string, eventType: string): Promise<string> {
  const created = await answered(
    api().POST("/v1/webhooks", { body: { url, event_types: [eventType] } }),
    201,
  );
  webhooks.push(created.id);
  return created.id;
}

async function publish(type: string, data: Record<string, unknown>): Promise<string> {
  return (await answered(api().POST("/v1/events", { body: { type, data } }), 202)).id;
}

/** The first terminal line matching `pattern`, once it has been printed. */
function printed(what: string, pattern: RegExp): Promise<string> {
  return eventually(
    what,
    () =>
      terminal()
        .split("\n")
        .find((line) => pattern.test(line)),
    60_000,
  );
}

it("prints one line per attempt and per circuit change, and keeps the raw logs in functions.log", async () => {
  const ok = await registerWebhook(healthy.url, "memory.created");
  const down = await registerWebhook(failing.url, "memory.deleted");

  const delivered = await publish("memory.created", { memory_id: "m_1" });
  expect(
    await printed("the event's line", new RegExp(`● memory\\.created ${delivered} published: 1 delivery`)),
  ).toBeTruthy();
  const attempt = await printed(
    "the attempt's line",
    new RegExp(`→ memory\\.created ${delivered} ${ok} 200 \\d+ ms$`),
  );
  expect(attempt).toMatch(/^\d\d:\d\d:\d\d → /);

  // The e2e stack opens a circuit after 5 failed attempts in a row (test/e2e/global-setup.ts).
  const failed: string[] = [];
  for (let n = 0; n < 5; n += 1) failed.push(await publish("memory.deleted", { memory_id: `m_${n}` }));
  await printed(
    "a failed attempt's line",
    new RegExp(`✗ memory\\.deleted ${failed[0]} ${down} 500 \\d+ ms \\(attempt 1; retry in \\d+ s\\)$`),
  );
  await printed("the circuit's line", new RegExp(`circuit ${down} open \\(probe in 3 s\\)$`));

  // The raw lines are in the file, and only there: the terminal shows none of the JSON.
  const raw = functionsLog().split("\n");
  expect(
    raw.some((line) => line.includes('"message":"delivery delivered"') && line.includes(delivered)),
  ).toBe(true);
  expect(raw.some((line) => line.includes('"message":"circuit opened"') && line.includes(down))).toBe(true);
  expect(raw.some((line) => line.includes('"CloudWatchMetrics"'))).toBe(true);
  expect(terminal()).not.toMatch(/"level":"(INFO|WARN)"|"CloudWatchMetrics"/);
  expect(terminal()).toMatch(/Logs +one line per event, attempt and circuit change below; .*functions\.log/);
});

it("names in its banner the console's URL and the settings that differ from their defaults", () => {
  const lines = terminal().split("\n");
  expect(lines).toContain(`  Console      ${localStack().consoleUrl}   (sign in with the API key below)`);
  const settings = lines.find((line) => line.startsWith("  Settings     "));
  // The e2e stack's environment (test/e2e/global-setup.ts): a threshold of 5 failures and loop detection
  // on are the defaults, so the banner leaves them out.
  expect(settings).toContain("HOOKLINE_RETRY_SCHEDULE=1,2,2,2,2");
  expect(settings).toContain("HOOKLINE_CIRCUIT_COOLDOWN=3");
  expect(settings).toContain("HOOKLINE_LOCAL_STALE_READS_MS=1000");
  expect(settings).not.toContain("HOOKLINE_CIRCUIT_THRESHOLD");
  expect(settings).not.toContain("HOOKLINE_LOCAL_LOOP_DETECTION");
});
