import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { answered, api, localStack, newTenant, useApiKey } from "../support/local-stack.ts";
import { eventually, Receiver } from "../support/receiver.ts";

const EXAMPLE = new URL("../../examples/client/publish.ts", import.meta.url).pathname;
const README = new URL("../../README.md", import.meta.url).pathname;

let receiver: Receiver;
let apiKey: string;

beforeAll(async () => {
  receiver = await Receiver.start();
  ({ apiKey } = await newTenant("client-example"));
  useApiKey(apiKey);
});
afterAll(async () => {
  await receiver.stop();
});

describe("examples/client/publish.ts, the README's typed client example", () => {
  it("publishes an event and lists the webhook's deliveries, run as the README says", async () => {
    const webhook = await answered(
      api().POST("/v1/webhooks", { body: { url: receiver.url, event_types: ["memory.created"] } }),
      201,
    );
    const { stdout } = await promisify(execFile)(process.execPath, [EXAMPLE], {
      env: { ...process.env, API: localStack().apiUrl, KEY: apiKey, WH: webhook.id },
    });

    const [first, ...deliveryLines] = stdout.trim().split("\n");
    const eventId = first?.match(/^published (evt_\w+) to 1 webhook\(s\)$/)?.[1];
    expect(eventId, stdout).toBeDefined();
    const page = await answered(
      api().GET("/v1/webhooks/{webhookId}/deliveries", { params: { path: { webhookId: webhook.id } } }),
      200,
    );
    const delivery = page.data.find((candidate) => candidate.event_id === eventId);
    expect(delivery).toBeDefined();
    expect(deliveryLines).toHaveLength(1);
    expect(deliveryLines[0]).toMatch(
      new RegExp(`^${delivery?.id} (pending|retrying|delivered) after [01] attempt\\(s\\)$`),
    );
    await eventually(`the receiver to get ${eventId}`, () =>
      receiver.requests.find((request) => request.rawBody.includes(`"id":"${eventId}"`)),
    );
  });

  it("is shown in the README as it is", () => {
    const code = readFileSync(EXAMPLE, "utf8").replace(/^\/\*\*[\s\S]*?\*\/\n/, "");
    expect(readFileSync(README, "utf8")).toContain(code);
  });
});
