import { execFile, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { answered, api, callApi, localStack, newTenant, reply, webhookPath } from "../support/local-stack.ts";
import { eventually, Receiver } from "../support/receiver.ts";

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

const CLI = "bin/hookline-cli.ts";
const cliEnv = () => ({ ...process.env, HOOKLINE_DIR: localStack().stateDir });

/** Runs the operator command against the test stack, as `npx hookline ...` would; never throws. */
function hookline(...args: string[]): Promise<Run> {
  return hooklineWith(cliEnv(), ...args);
}

/** Runs the operator command with `env` (another HOOKLINE_DIR, say); never throws. */
function hooklineWith(env: NodeJS.ProcessEnv, ...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs a command that must succeed with `--json`, and parses what it printed. */
async function hooklineJson<T>(...args: string[]): Promise<T> {
  const run = await hookline(...args, "--json");
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as T;
}

interface DeliveryJson {
  readonly id: string;
  readonly event_id: string;
  readonly status: string;
  readonly attempt_count: number;
}

let tenant: { tenantId: string; apiKey: string };
let receiver: Receiver | undefined;

beforeAll(async () => {
  tenant = await newTenant("cli");
});
afterEach(async () => {
  await receiver?.stop();
  receiver = undefined;
});

async function webhookFor(target: Receiver, eventTypes = ["memory.created"]): Promise<string> {
  const webhook = await answered(
    api({ apiKey: tenant.apiKey }).POST("/v1/webhooks", {
      body: { url: target.url, event_types: eventTypes },
    }),
    201,
  );
  return webhook.id;
}

async function publish(type = "memory.created", data = '{"k":"v"}'): Promise<string> {
  const published = await hooklineJson<{ id: string }>(
    "events",
    "publish",
    "--tenant",
    tenant.tenantId,
    "--type",
    type,
    "--data",
    data,
  );
  expect(published.id).toMatch(/^evt_/);
  return published.id;
}

async function deliveriesOf(webhookId: string): Promise<DeliveryJson[]> {
  const listed = await hooklineJson<{ data: DeliveryJson[] }>(
    "deliveries",
    "list",
    "--tenant",
    tenant.tenantId,
    "--webhook",
    webhookId,
  );
  return listed.data;
}

describe("hookline api-key", () => {
  it("creates a key the API accepts, lists it, and revokes it", async () => {
    const tenantId = `cli-keys-${Date.now()}`;
    const created = await hooklineJson<{ api_key: string; key_id: string; tenant_id: string }>(
      "api-key",
      "create",
      "--tenant",
      tenantId,
    );
    expect(created).toMatchObject({ tenant_id: tenantId, api_key: expect.stringMatching(/^hk_/) });

    await answered(
      api({ apiKey: created.api_key }).POST("/v1/webhooks", {
        body: { url: "http://127.0.0.1:9/hooks", event_types: ["memory.created"] },
      }),
      201,
    );

    const listed = await hooklineJson<{ data: { key_id: string; revoked_at: string | null }[] }>(
      "api-key",
      "list",
      "--tenant",
      tenantId,
    );
    expect(listed.data).toEqual([expect.objectContaining({ key_id: created.key_id, revoked_at: null })]);
    const table = await hookline("api-key", "list", "--tenant", tenantId);
    expect(table.stdout).toMatch(
      new RegExp(`^KEY ID\\s+TENANT\\s+CREATED\\s+REVOKED\\n${created.key_id}\\s+${tenantId}`),
    );

    const revoked = await hookline("api-key", "revoke", created.key_id);
    expect(revoked.code, revoked.stderr).toBe(0);
    const again = await hookline("api-key", "revoke", created.key_id);
    expect(again).toMatchObject({ code: 1, stderr: expect.stringContaining("not found") });
  });

  it("revokes a key so that the API refuses it: 401 invalid_api_key, in the API's error shape", async () => {
    const created = await hooklineJson<{ api_key: string; key_id: string }>(
      "api-key",
      "create",
      "--tenant",
      `cli-revoked-${Date.now()}`,
    );
    const revoked = await hookline("api-key", "revoke", created.key_id);
    expect(revoked.code, revoked.stderr).toBe(0);
    // Never used before its revocation, so no cached answer of the authorizer lets it in (docs/api.md).
    const refused = await callApi("GET", "/v1/webhooks", { apiKey: created.api_key });
    expect(refused.status).toBe(401);
    expect(refused.body).toEqual({
      error: { code: "invalid_api_key", message: expect.stringContaining("API key"), details: [] },
    });
  });

  it("answers a missing required option with a usage error", async () => {
    const run = await hookline("api-key", "create");
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain("required option '--tenant <tenant-id>' not specified");
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});

describe("hookline webhooks", () => {
  it("lists and shows a tenant's webhooks, and says when one is not found", async () => {
    receiver = await Receiver.start();
    // An event type no other test here publishes, so that this webhook adds no deliveries to theirs.
    const webhookId = await webhookFor(receiver, ["user.created"]);

    const listed = await hooklineJson<{ data: { id: string; url: string; secret?: string }[] }>(
      "webhooks",
      "list",
      "--tenant",
      tenant.tenantId,
    );
    expect(listed.data.map((w) => w.id)).toContain(webhookId);
    expect(listed.data.every((w) => w.secret === undefined)).toBe(true);

    const shown = await hookline("webhooks", "get", webhookId, "--tenant", tenant.tenantId);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain(`url:`);
    expect(shown.stdout).toContain(receiver.url);
    expect(shown.stdout).not.toContain("whsec_");

    const missing = await hookline("webhooks", "get", "wh_does_not_exist", "--tenant", tenant.tenantId);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(
      `hookline: webhook wh_does_not_exist not found for tenant ${tenant.tenantId}\n`,
    );
    const otherTenant = await hookline("webhooks", "get", webhookId, "--tenant", "somebody-else");
    expect(otherTenant.code).toBe(1);
  });
});

describe("hookline events and deliveries", () => {
  it("publishes an event on the bus, and shows it delivered to the receiver", async () => {
    receiver = await Receiver.start();
    const webhookId = await webhookFor(receiver);
    const eventId = await publish("memory.created", '{"k":"v"}');

    const delivered = await eventually("the delivery to be delivered", async () => {
      const [only] = await deliveriesOf(webhookId);
      return only?.status === "delivered" ? only : undefined;
    });
    expect(delivered).toMatchObject({ event_id: eventId, attempt_count: 1 });
    expect(JSON.parse(receiver.attemptsOf(delivered.id)[0]?.rawBody ?? "{}")).toMatchObject({
      type: "memory.created",
      data: { k: "v" },
    });

    const table = await hookline("deliveries", "list", "--tenant", tenant.tenantId, "--webhook", webhookId);
    expect(table.stdout.split("\n")[0]).toMatch(/^DELIVERY\s+EVENT\s+TYPE\s+STATUS\s+ATTEMPTS/);
    expect(table.stdout).toMatch(
      new RegExp(`${delivered.id}\\s+${eventId}\\s+memory\\.created\\s+delivered\\s+1\\s+200`),
    );

    const event = await hooklineJson<Record<string, unknown>>(
      "events",
      "get",
      eventId,
      "--tenant",
      tenant.tenantId,
    );
    expect(event).toMatchObject({
      id: eventId,
      type: "memory.created",
      source: "eventbridge",
      delivery_count: 1,
    });
    expect(JSON.parse(String(event.payload))).toMatchObject({ data: { k: "v" } });

    const missing = await hookline("events", "get", "evt_nope", "--tenant", tenant.tenantId);
    expect(missing).toMatchObject({ code: 1, stderr: expect.stringContaining("event evt_nope not found") });
  });

  it("publishes with the caller's id once, however often it is published", async () => {
    receiver = await Receiver.start();
    const webhookId = await webhookFor(receiver, ["memory.updated"]);
    const id = `cli-${Date.now()}`;
    for (let n = 0; n < 2; n += 1) {
      const run = await hookline(
        "events",
        "publish",
        "--tenant",
        tenant.tenantId,
        "--type",
        "memory.updated",
        "--id",
        id,
      );
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout.trim()).toBe(id);
      if (n === 0) {
        // It waits for Hookline to take the event in, and says how many deliveries it made.
        expect(run.stderr).toContain(`published ${id} (memory.updated) for tenant ${tenant.tenantId}`);
        expect(run.stderr).toMatch(/: 1 delivery\n$/);
      } else {
        expect(run.stderr).toContain(`${id} was published before (a duplicate): nothing new was sent`);
        expect(run.stderr).toMatch(/: 1 delivery\n$/);
      }
    }
    const again = await hooklineJson<{ id: string; duplicate: boolean; deliveries: number }>(
      "events",
      "publish",
      "--tenant",
      tenant.tenantId,
      "--type",
      "memory.updated",
      "--id",
      id,
    );
    expect(again).toMatchObject({ id, duplicate: true, deliveries: 1 });
    await eventually("the delivery", async () =>
      (await deliveriesOf(webhookId))[0]?.status === "delivered" ? true : undefined,
    );
    expect(await deliveriesOf(webhookId)).toHaveLength(1);
  });

  it("refuses an unknown event type before publishing, naming the closest known one", async () => {
    const run = await hookline(
      "events",
      "publish",
      "--tenant",
      tenant.tenantId,
      "--type",
      "memory.craeted",
      "--id",
      `cli-unknown-${Date.now()}`,
    );
    expect(run.code).toBe(1);
    expect(run.stderr.split("\n")[0]).toBe(
      'hookline: unknown event type "memory.craeted"; did you mean memory.created?',
    );
    // Every known type is listed, so the right one can be picked without another command.
    expect(run.stderr).toContain("quota.exceeded");
    expect(run.stdout).toBe("");
  });

  it("shows a failed delivery with its attempts, and retries it once the receiver accepts", async () => {
    receiver = await Receiver.start();
    receiver.status = 422;
    const webhookId = await webhookFor(receiver, ["memory.deleted"]);
    await publish("memory.deleted", '{"n":1}');
    const failed = await eventually("the delivery to fail", async () => {
      const [only] = await deliveriesOf(webhookId);
      return only?.status === "failed" ? only : undefined;
    });

    const where = ["--tenant", tenant.tenantId, "--webhook", webhookId];
    const detail = await hooklineJson<{ status: string; attempts: { status_code: number }[] }>(
      "deliveries",
      "get",
      failed.id,
      ...where,
    );
    expect(detail).toMatchObject({ status: "failed", attempts: [{ status_code: 422 }] });
    const shown = await hookline("deliveries", "get", failed.id, ...where);
    expect(shown.stdout).toMatch(/status:\s+failed/);
    expect(shown.stdout).toMatch(/ATTEMPT\s+AT\s+CODE\s+DURATION\s+ERROR\s+RESPONSE\n1\s+\S+\s+422/);

    receiver.status = 200;
    const retried = await hookline("deliveries", "retry", failed.id, ...where);
    expect(retried.code, retried.stderr).toBe(0);
    expect(retried.stdout).toContain(`retrying ${failed.id}`);
    const delivered = await eventually("the retried delivery to be delivered", async () => {
      const [only] = await deliveriesOf(webhookId);
      return only?.status === "delivered" ? only : undefined;
    });
    expect(delivered.attempt_count).toBe(2);
    expect(receiver.attemptsOf(failed.id).map((r) => r.answer)).toEqual([422, 200]);

    const twice = await hookline("deliveries", "retry", failed.id, ...where);
    expect(twice).toMatchObject({ code: 1, stderr: expect.stringContaining("is delivered") });
    const unknown = await hookline("deliveries", "retry", "msg_nope", ...where);
    expect(unknown).toMatchObject({ code: 1, stderr: "hookline: delivery msg_nope not found\n" });
    const unknownGet = await hookline("deliveries", "get", "msg_nope", ...where);
    expect(unknownGet).toMatchObject({ code: 1, stderr: expect.stringContaining("not found") });
  });
});

describe("hookline dlq", () => {
  it("lists a dead-lettered delivery and redrives it once the receiver accepts", async () => {
    receiver = await Receiver.start();
    receiver.status = 503;
    const { id: webhookId } = await answered(
      api({ apiKey: tenant.apiKey }).POST("/v1/webhooks", {
        body: { url: receiver.url, event_types: ["quota.warning"], retry_schedule_seconds: [1] },
      }),
      201,
    );
    await publish("quota.warning", "{}");
    const dead = await eventually("the delivery to be dead-lettered", async () => {
      const [only] = await deliveriesOf(webhookId);
      return only?.status === "dead_lettered" ? only : undefined;
    });

    const listed = await hooklineJson<{ data: { delivery_id?: string; tenant_id?: string }[] }>(
      "dlq",
      "list",
    );
    expect(listed.data).toContainEqual(
      expect.objectContaining({ delivery_id: dead.id, tenant_id: tenant.tenantId }),
    );
    // Listing hides the messages it reads for a moment (so it reads each once), so look again until
    // they are back.
    const rowPattern = new RegExp(
      `^DELIVERY\\s+WEBHOOK\\s+TENANT[^\\n]*\\n(.*\\n)*${dead.id}\\s+${webhookId}`,
    );
    await eventually("the table to show the dead letter", async () => {
      const table = await hookline("dlq", "list");
      return rowPattern.test(table.stdout) ? true : undefined;
    });

    receiver.status = 200;
    const redriven = await eventually("redrive to find the dead letter", async () => {
      const run = await hookline("dlq", "redrive");
      expect(run.code, run.stderr).toBe(0);
      return /^redrove [1-9]\d* dead-lettered deliveries on the local stack/.test(run.stdout)
        ? run
        : undefined;
    });
    expect(redriven.stderr).toBe("");
    await eventually("the redriven delivery to be delivered", async () =>
      (await deliveriesOf(webhookId))[0]?.status === "delivered" ? true : undefined,
    );
  });
});

describe("hookline tail", () => {
  it("shows a delivery that happens while it runs, one JSON object a line", async () => {
    receiver = await Receiver.start();
    const webhookId = await webhookFor(receiver, ["session.started"]);
    const child = spawn(
      process.execPath,
      [CLI, "tail", "--tenant", tenant.tenantId, "--webhook", webhookId, "--json"],
      { env: cliEnv() },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    try {
      await eventually("tail to start", () => (stderr.includes("tailing deliveries") ? true : undefined));
      const eventId = await publish("session.started", '{"s":1}');
      const row = await eventually("tail to show the delivery", () =>
        stdout
          .split("\n")
          .filter((line) => line.trim() !== "")
          .map((line) => JSON.parse(line) as Record<string, unknown>)
          .find((parsed) => parsed.event_id === eventId),
      );
      expect(row).toMatchObject({
        status: "delivered",
        tenant_id: tenant.tenantId,
        webhook_id: webhookId,
        delivery_id: expect.stringMatching(/^msg_/),
        attempt: 1,
        status_code: 200,
        duration_ms: expect.any(Number),
        error: null,
      });
    } finally {
      child.kill("SIGINT");
    }
    expect(await exited).toBe(0);
    expect(stderr).not.toMatch(/hookline: /);
  });

  it("prints a table header and rows for people", async () => {
    receiver = await Receiver.start();
    receiver.status = 503;
    const webhookId = await webhookFor(receiver, ["session.ended"]);
    const child = spawn(process.execPath, [CLI, "tail", "--webhook", webhookId], { env: cliEnv() });
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    try {
      await eventually("the header", () => (stdout.startsWith("TIME") ? true : undefined));
      await publish("session.ended", "{}");
      await eventually("a retry row", () => (/\sretry\s+1\s+503\s/.test(stdout) ? true : undefined));
    } finally {
      child.kill("SIGINT");
      // Ends the delivery (failed: webhook_deleted) instead of leaving it to the dead-letter queue.
      await api({ apiKey: tenant.apiKey }).DELETE("/v1/webhooks/{webhookId}", webhookPath(webhookId));
    }
    expect(await exited).toBe(0);
    expect(stdout.split("\n")[0]).toMatch(
      /^TIME\s+STATUS\s+ATTEMPT\s+CODE\s+DURATION\s+DELIVERY\s+WEBHOOK\s+ERROR$/,
    );
  });
});

/** A CLI command left running, with what it printed so far. */
function running(...args: string[]) {
  const child = spawn(process.execPath, [CLI, ...args], { env: cliEnv() });
  const output = { stdout: "", stderr: "" };
  child.stdout.on("data", (chunk: Buffer) => {
    output.stdout += chunk.toString("utf8");
  });
  child.stderr.on("data", (chunk: Buffer) => {
    output.stderr += chunk.toString("utf8");
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, output, exited };
}

describe("hookline listen and trigger", () => {
  // A tenant of their own: listen's webhook takes every memory event of its tenant.
  let developer: { tenantId: string; apiKey: string };
  beforeAll(async () => {
    developer = await newTenant("cli-listen");
  });

  it("forwards events through a temporary webhook, prints each attempt, and removes the webhook on Ctrl-C", async () => {
    receiver = await Receiver.start();
    const listen = running(
      "listen",
      "--forward-to",
      receiver.url,
      "--events",
      "memory.*",
      "--api-key",
      developer.apiKey,
    );
    try {
      const ready = await eventually("listen to be ready", () => {
        const webhookId = /webhook:\s+(wh_\S+)/.exec(listen.output.stdout)?.[1];
        const secret = /signing secret:\s+(whsec_\S+)/.exec(listen.output.stdout)?.[1];
        return webhookId && secret ? { webhookId, secret } : undefined;
      });
      expect(listen.output.stdout).toContain(
        `Ready: forwarding memory.* on the local stack to ${receiver.url}`,
      );
      const shown = await reply(
        api({ apiKey: developer.apiKey }).GET("/v1/webhooks/{webhookId}", webhookPath(ready.webhookId)),
      );
      expect(shown.body).toMatchObject({
        event_types: ["memory.*"],
        metadata: { hookline_listen: "temporary", hookline_listen_expires_at: expect.any(String) },
      });

      const trigger = await hookline("trigger", "memory.created", "--api-key", developer.apiKey);
      expect(trigger.code, trigger.stderr).toBe(0);
      const eventId = /^published (evt_\S+) \(memory\.created\) on the local stack: 1 delivery$/m.exec(
        trigger.stdout,
      )?.[1];
      expect(eventId, trigger.stdout).toBeDefined();
      const line = await eventually("listen to print the attempt", () =>
        listen.output.stdout.split("\n").find((printed) => printed.includes(`${eventId}`)),
      );
      expect(line).toMatch(new RegExp(`^→ memory\\.created ${eventId} 200 (\\d+ ms|\\d+\\.\\d s)$`));
      // The secret printed is the one the receiver can verify the delivery with.
      const request = receiver.requests.find((r) => JSON.parse(r.rawBody).id === eventId);
      if (!request) throw new Error("the receiver got no request for the event");
      expect(() =>
        new StandardWebhook(ready.secret).verify(request.rawBody, request.headers as Record<string, string>),
      ).not.toThrow();

      listen.child.kill("SIGINT");
      expect(await listen.exited).toBe(0);
      expect(listen.output.stderr).toContain(`stopped: removed webhook ${ready.webhookId}`);
      const gone = await api({ apiKey: developer.apiKey }).GET(
        "/v1/webhooks/{webhookId}",
        webhookPath(ready.webhookId),
      );
      expect(gone.response.status).toBe(404);
    } finally {
      listen.child.kill("SIGKILL");
    }
  });

  it("removes what a killed listen left once it expired, and its own webhook on SIGTERM", async () => {
    receiver = await Receiver.start();
    const asDeveloper = api({ apiKey: developer.apiKey });
    const create = (expiresAt: string) =>
      answered(
        asDeveloper.POST("/v1/webhooks", {
          body: {
            url: `${receiver?.url}/left-behind`,
            event_types: ["user.created"],
            metadata: { hookline_listen: "temporary", hookline_listen_expires_at: expiresAt },
          },
        }),
        201,
      );
    const statusOf = async (webhookId: string) =>
      (await asDeveloper.GET("/v1/webhooks/{webhookId}", webhookPath(webhookId))).response.status;
    const expired = await create(new Date(Date.now() - 60_000).toISOString());
    const current = await create(new Date(Date.now() + 600_000).toISOString());
    const listen = running("listen", "--forward-to", receiver.url, "--api-key", developer.apiKey);
    try {
      const webhookId = await eventually(
        "listen to be ready",
        () => /webhook:\s+(wh_\S+)/.exec(listen.output.stdout)?.[1],
      );
      expect(listen.output.stderr).toContain("removed 1 temporary webhook left by a stopped listen");
      expect(await statusOf(expired.id)).toBe(404);
      // Another listen's webhook, still renewed, is left alone.
      expect(await statusOf(current.id)).toBe(200);
      listen.child.kill("SIGTERM");
      expect(await listen.exited).toBe(0);
      expect(await statusOf(webhookId)).toBe(404);
    } finally {
      listen.child.kill("SIGKILL");
      await asDeveloper.DELETE("/v1/webhooks/{webhookId}", webhookPath(current.id));
    }
  });

  it("triggers an event with the data given, and refuses a type outside the catalogue", async () => {
    const published = await hookline(
      "trigger",
      "sync.completed",
      "--data",
      '{"job": "nightly"}',
      "--api-key",
      developer.apiKey,
      "--json",
    );
    expect(published.code, published.stderr).toBe(0);
    const body = JSON.parse(published.stdout) as { id: string; type: string; duplicate: boolean };
    expect(body).toMatchObject({ type: "sync.completed", duplicate: false });
    const eventOf = (eventId: string) =>
      reply(api({ apiKey: developer.apiKey }).GET("/v1/events/{eventId}", { params: { path: { eventId } } }));
    const stored = await eventOf(body.id);
    expect(stored.body).toHaveProperty("data", { job: "nightly" });

    const example = await hookline("trigger", "user.created", "--api-key", developer.apiKey, "--json");
    const exampleId = (JSON.parse(example.stdout) as { id: string }).id;
    const exampleEvent = await eventOf(exampleId);
    // The type's example, the one a test send without data sends (GET /v1/event-types lists it).
    expect(exampleEvent.body).toHaveProperty("data", {
      user_id: "user_123",
      email: "ada@example.com",
      created_at: "2026-11-25T10:00:00Z",
    });

    const unknown = await hookline("trigger", "memory.creatd", "--api-key", developer.apiKey);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('unknown event type "memory.creatd"; did you mean memory.created?');
  });

  it("says which key is refused", async () => {
    const refused = await hookline("trigger", "memory.created", "--api-key", "hk_not_a_real_key");
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^hookline: GET \/v1\/event-types answered 401 \(invalid_api_key: /);
  });
});

describe("hookline deliveries get", () => {
  it("shows the latest request as the receiver got it, its signature masked", async () => {
    receiver = await Receiver.start();
    const webhookId = await webhookFor(receiver, ["session.started"]);
    const eventId = await publish("session.started", '{"user": "ana", "n": 1.5}');
    const received = await eventually("the delivery at the receiver", () =>
      receiver?.requests.find((request) => JSON.parse(request.rawBody).id === eventId),
    );
    const deliveryId = String(received.headers["webhook-id"]);
    const where = ["--tenant", tenant.tenantId, "--webhook", webhookId];
    await eventually("the delivery recorded as delivered", async () =>
      (await deliveriesOf(webhookId))[0]?.status === "delivered" ? true : undefined,
    );

    const detail = await hooklineJson<{
      request: { method: string; url: string; headers: Record<string, string>; body: string };
    }>("deliveries", "get", deliveryId, ...where);
    expect(detail.request).toMatchObject({ method: "POST", url: receiver.url, body: received.rawBody });
    expect(detail.request.headers["webhook-signature"]).toBe("v1,****");
    expect(detail.request.headers["webhook-timestamp"]).toBe(received.headers["webhook-timestamp"]);

    const shown = await hookline("deliveries", "get", deliveryId, ...where);
    expect(shown.stdout).toContain(`POST ${receiver.url}\n`);
    expect(shown.stdout).toContain("webhook-signature: v1,****\n");
    expect(shown.stdout).toContain(`\n\n${received.rawBody}\n`);
    expect(shown.stdout).not.toContain(String(received.headers["webhook-signature"]).slice(3));
  });
});

describe("hookline status", () => {
  it("shows the running local stack, its API, the settings it changed and its queues", async () => {
    const status = await hooklineJson<{
      running: boolean;
      stack: { kind: string; pid?: number };
      api: { url: string; answering: boolean };
      console: { url: string };
      settings_changed: Record<string, { value: unknown; default: unknown }>;
      queues: Record<string, number>;
      open_circuits: number;
    }>("status");
    expect(status).toMatchObject({
      running: true,
      stack: { kind: "local", pid: expect.any(Number) },
      api: { url: localStack().apiUrl, answering: true },
      console: { url: localStack().consoleUrl },
      queues: {
        delivery: expect.any(Number),
        priority: expect.any(Number),
        dead_letter: expect.any(Number),
        ingest_dead_letter: expect.any(Number),
      },
      open_circuits: expect.any(Number),
    });
    // The e2e stack runs with a schedule of seconds (E2E_STACK_ENV) and lets loopback targets in.
    expect(status.settings_changed.retryScheduleSeconds?.value).toEqual([1, 2, 2, 2, 2]);
    expect(status.settings_changed.circuitCooldown).toMatchObject({ value: 3, default: 300 });
    expect(status.settings_changed).toHaveProperty("endpointSafety");
    expect(status.settings_changed).not.toHaveProperty("retentionDays");

    const shown = await hookline("status");
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain(`Hookline is running: the local stack `);
    expect(shown.stdout).toMatch(new RegExp(`API:\\s+${localStack().apiUrl} \\(answering\\)`));
    expect(shown.stdout).toMatch(new RegExp(`console:\\s+${localStack().consoleUrl}\n`));
    expect(shown.stdout).toMatch(/retryScheduleSeconds:\s+1, 2, 2, 2, 2 seconds \(default /);
    expect(shown.stdout).toMatch(/circuitCooldown:\s+3 seconds \(default 5 minutes\)/);
    expect(shown.stdout).toMatch(/dead letters:\s+\d+ messages?\n/);
  });

  it("says in one line that nothing is running, with no local stack or a stopped one", async () => {
    const empty = mkdtempSync(path.join(tmpdir(), "hookline-status-"));
    try {
      const none = await hooklineWith({ ...process.env, HOOKLINE_DIR: empty }, "status");
      expect(none.code).toBe(1);
      expect(none.stdout).toMatch(
        /^nothing is running: no local stack found \(.*local\.json is missing\)[^\n]*\n$/,
      );

      // A local.json left by a stack whose process is gone (a kill -9, say).
      const gone = spawnSync(process.execPath, ["-e", ""]).pid;
      const info = JSON.parse(readFileSync(path.join(localStack().stateDir, "local.json"), "utf8"));
      writeFileSync(path.join(empty, "local.json"), JSON.stringify({ ...info, pid: gone }));
      const stopped = await hooklineWith({ ...process.env, HOOKLINE_DIR: empty }, "status", "--json");
      expect(stopped.code).toBe(1);
      expect(JSON.parse(stopped.stdout)).toEqual({
        running: false,
        reason: expect.stringContaining(`(pid ${gone}) has stopped`),
      });
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
