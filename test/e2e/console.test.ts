import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dynamoCursorKey } from "../../functions/adapters/cursor-key.ts";
import { portalKey, signPortalToken } from "../../functions/domain/portal-token.ts";
import { StackOutput } from "../../functions/shared/names.ts";
import { type Browser, launchBrowser, seriousAxeViolations } from "../support/browser.ts";
import {
  answered,
  api,
  callApi,
  localStack,
  newTenant,
  useApiKey,
  webhookPath,
} from "../support/local-stack.ts";
import { Receiver } from "../support/receiver.ts";

/** How long the console may take to show what the API already has: its polling backs off to 30 s. */
const SEEN_WITHIN_MS = 45_000;

let browser: Browser;
let receiver: Receiver;
let tenant: { tenantId: string; apiKey: string };
let page: Page;
let webhookId: string;
let firstSecret: string;
/** The first event the console showed, and its delivery's page: both get the accessibility check. */
let firstEventId: string;
let firstDeliveryRoute: string;

beforeAll(async () => {
  receiver = await Receiver.start();
  tenant = await newTenant("console");
  useApiKey(tenant.apiKey);
  browser = await launchBrowser();
  page = await browser.context.newPage();
});
afterAll(async () => {
  await browser?.close();
  await receiver?.stop();
});

async function publish(type: string, data: Record<string, unknown>): Promise<string> {
  return (await answered(api().POST("/v1/events", { body: { type, data } }), 202)).id;
}

/** A delivery's row in the deliveries table, found by its event type and status. */
const deliveryRow = (status: string) =>
  page
    .locator("tbody tr")
    .filter({ hasText: "memory.created" })
    .filter({ hasText: status.replace("_", " ") });

describe("the web console, in Chromium, against the local stack", () => {
  it("is served at <ApiUrl>/console/ with a strict content security policy", async () => {
    const { consoleUrl } = localStack();
    expect(consoleUrl).toBe(new URL("/console/", localStack().apiUrl).href);
    const response = await page.goto(consoleUrl);
    expect(response?.status()).toBe(200);
    const csp = response?.headers()["content-security-policy"] ?? "";
    expect(csp).toContain("default-src 'self'");
    expect(csp).not.toContain("unsafe-inline");
    await expect(page.getByRole("heading", { name: "Hookline console" }).isVisible()).resolves.toBe(true);
  });

  it("signs in with an API key, kept in sessionStorage and nowhere in the URL", async () => {
    await page.getByLabel("API key").fill(tenant.apiKey);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Webhooks" }).waitFor();
    expect(page.url()).not.toContain(tenant.apiKey);
    const stored = await page.evaluate(() => sessionStorage.getItem("hookline.credential"));
    expect(stored).toBe(tenant.apiKey);
    expect(await browser.context.cookies()).toEqual([]);
  });

  it("creates a webhook and shows its secret once", async () => {
    await page.getByLabel("Endpoint URL").fill(receiver.url);
    await page.getByRole("checkbox", { name: "memory.created" }).check();
    await page.getByRole("button", { name: "Add webhook" }).click();
    const secret = page.getByTestId("new-secret");
    await secret.waitFor();
    firstSecret = (await secret.textContent()) ?? "";
    expect(firstSecret).toMatch(/^whsec_/);
    await page.getByRole("link", { name: "Open the new webhook" }).click();
    await page.getByRole("heading", { name: receiver.url }).waitFor();
    webhookId = /#\/webhooks\/([^/]+)$/.exec(page.url())?.[1] ?? "";
    expect(webhookId).toMatch(/^wh_/);
    const listed = await answered(api().GET("/v1/webhooks/{webhookId}", webhookPath(webhookId)), 200);
    expect(listed).toMatchObject({ url: receiver.url, event_types: ["memory.created"] });
  });

  it("shows an event published through the API as delivered, without a reload", async () => {
    await page.getByRole("link", { name: "Deliveries of this webhook" }).click();
    await page.getByRole("heading", { name: "Deliveries" }).waitFor();
    await page.getByText("No deliveries yet.").waitFor();
    firstEventId = await publish("memory.created", {
      memory_id: "m_console_1",
      text: "shown in the console",
    });
    await deliveryRow("delivered").waitFor({ timeout: SEEN_WITHIN_MS });
  });

  it("opens a delivery with its attempts and its payload", async () => {
    await deliveryRow("delivered").getByRole("link").click();
    await page.getByRole("heading", { name: "Attempts" }).waitFor();
    const attempts = page.getByRole("region", { name: "Attempts" });
    await attempts.getByRole("cell", { name: "200", exact: true }).waitFor();
    await attempts.getByText("thanks").waitFor();
    await page.getByLabel("Payload sent").getByText("m_console_1").waitFor();
    firstDeliveryRoute = new URL(page.url()).hash;
    expect(firstDeliveryRoute).toMatch(new RegExp(`^#/webhooks/${webhookId}/deliveries/msg_`));
  });

  it("retries a failed delivery from the console once the receiver is fixed", async () => {
    receiver.status = 400;
    await page.goto(`${localStack().consoleUrl}#/webhooks/${webhookId}/deliveries`);
    await publish("memory.created", { memory_id: "m_console_2" });
    await deliveryRow("failed").waitFor({ timeout: SEEN_WITHIN_MS });
    await deliveryRow("failed").getByRole("link").click();
    await page
      .getByRole("region", { name: "Attempts" })
      .getByRole("cell", { name: "400", exact: true })
      .waitFor();
    receiver.status = 200;
    await page.getByRole("button", { name: "Retry delivery" }).click();
    await page.getByTestId("delivery-status").getByText("delivered").waitFor({ timeout: SEEN_WITHIN_MS });
    await page
      .getByRole("region", { name: "Attempts" })
      .getByRole("cell", { name: "200", exact: true })
      .waitFor();
  });

  it("rotates the secret and shows the new one once", async () => {
    await page.goto(`${localStack().consoleUrl}#/webhooks/${webhookId}`);
    await page.getByRole("button", { name: "Rotate secret" }).click();
    const secret = page.getByTestId("new-secret");
    await secret.waitFor();
    const rotated = (await secret.textContent()) ?? "";
    expect(rotated).toMatch(/^whsec_/);
    expect(rotated).not.toBe(firstSecret);
    await page.reload();
    await page.getByRole("heading", { name: "Settings" }).waitFor();
    expect(await page.getByTestId("new-secret").count()).toBe(0);
  });

  it("filters a webhook's deliveries by status and event type", async () => {
    await page.goto(`${localStack().consoleUrl}#/webhooks/${webhookId}/deliveries`);
    await deliveryRow("delivered").first().waitFor();
    await page.getByLabel("Status").selectOption("failed");
    await page.getByRole("button", { name: "Apply filters" }).click();
    await page.getByText("No deliveries match these filters.").waitFor();
    await page.getByLabel("Status").selectOption("delivered");
    await page.getByLabel("Event type").fill("memory.created");
    await page.getByRole("button", { name: "Apply filters" }).click();
    // Both of this webhook's deliveries, the second delivered on its retry.
    await expect.poll(() => page.locator("tbody tr").count(), { timeout: SEEN_WITHIN_MS }).toBe(2);
    expect(await deliveryRow("delivered").count()).toBe(2);
    await page.getByLabel("Event type").fill("memory.deleted");
    await page.getByRole("button", { name: "Apply filters" }).click();
    await page.getByText("No deliveries match these filters.").waitFor();
  });

  it("edits, pauses and resumes a webhook, test-sends to it, and deletes it only once confirmed", async () => {
    const managed = new URL(`${receiver.url}/managed`);
    const created = await answered(
      api().POST("/v1/webhooks", { body: { url: managed.href, event_types: ["user.created"] } }),
      201,
    );
    await page.goto(`${localStack().consoleUrl}#/webhooks/${created.id}`);
    const state = page.getByTestId("webhook-state");
    await state.getByText("active", { exact: true }).waitFor();

    await page.getByRole("button", { name: "Edit settings" }).click();
    await page.getByLabel("Description", { exact: true }).fill("edited in the console");
    await page.getByRole("button", { name: "Save changes" }).click();
    await page.getByText("edited in the console").waitFor();

    await page.getByRole("button", { name: "Pause" }).click();
    await state.getByText("paused", { exact: true }).waitFor();
    expect(await answered(api().GET("/v1/webhooks/{webhookId}", webhookPath(created.id)), 200)).toMatchObject(
      {
        active: false,
        description: "edited in the console",
      },
    );
    await page.getByRole("button", { name: "Resume" }).click();
    await state.getByText("active", { exact: true }).waitFor();

    // A test send answers at once with what the receiver said.
    const sent = receiver.requests.length;
    await page.getByRole("button", { name: "Send a test event" }).click();
    await page
      .getByRole("status")
      .getByText(/^Test send succeeded: 200 in \d+ ms/)
      .waitFor();
    expect(receiver.requests.slice(sent).map((request) => request.path)).toContain(managed.pathname);

    await page.getByRole("button", { name: "Delete…" }).click();
    expect((await api().GET("/v1/webhooks/{webhookId}", webhookPath(created.id))).response.status).toBe(200);
    await page
      .getByRole("group", { name: "Confirm deletion" })
      .getByRole("button", { name: "Cancel" })
      .click();
    await page.getByRole("button", { name: "Delete…" }).click();
    await page.getByRole("button", { name: "Yes, delete this webhook" }).click();
    await page.getByRole("heading", { name: "Webhooks" }).waitFor();
    expect((await api().GET("/v1/webhooks/{webhookId}", webhookPath(created.id))).response.status).toBe(404);
  });

  it("has no serious or critical accessibility violation, and fits a 360 px wide screen", async () => {
    for (const route of [
      "#/webhooks",
      `#/webhooks/${webhookId}`,
      `#/webhooks/${webhookId}/deliveries`,
      firstDeliveryRoute,
      "#/events",
      `#/events/${firstEventId}`,
      "#/event-types",
    ]) {
      await page.goto(`${localStack().consoleUrl}${route}`);
      await page.locator("main h1").waitFor();
      await page.waitForLoadState("networkidle").catch(() => undefined);
      const violations = await seriousAxeViolations(page);
      expect(
        violations.map((v) => `${route} ${v.id}: ${v.help} ${JSON.stringify(v.nodes.map((n) => n.target))}`),
      ).toEqual([]);
      await page.setViewportSize({ width: 360, height: 800 });
      const overflow = await page.evaluate<number>(
        "document.documentElement.scrollWidth - window.innerWidth",
      );
      expect(overflow, `${route} scrolls sideways at 360 px`).toBeLessThanOrEqual(0);
      await page.setViewportSize({ width: 1200, height: 900 });
    }
  });

  it("opens a read-only portal link for one webhook, with no write control, and the API refuses writes", async () => {
    const link = await answered(
      api().POST("/v1/portal-links", { body: { webhook_ids: [webhookId], read_only: true } }),
      201,
    );
    const url = new URL(link.url);
    expect(url.pathname).toBe("/console/");
    expect(url.hash).toMatch(/^#portal=hlp_/);
    const portal = await browser.context.newPage();
    await portal.goto(url.href);
    await portal.getByRole("note").getByText("read-only").waitFor();
    expect(portal.url()).not.toContain("hlp_");
    await portal.getByRole("link", { name: receiver.url }).click();
    await portal.getByRole("heading", { name: "Settings" }).waitFor();
    await portal.getByRole("heading", { name: "Deliveries per hour" }).waitFor();
    expect(await portal.getByRole("button").allTextContents()).toEqual(["Sign out"]);
    expect(await portal.getByRole("textbox").count()).toBe(0);
    await portal.getByRole("link", { name: "Deliveries of this webhook" }).click();
    await portal.locator("tbody tr").first().getByRole("link").click();
    await portal.getByRole("heading", { name: "Attempts" }).waitFor();
    expect(await portal.getByRole("button", { name: "Retry delivery" }).count()).toBe(0);

    const token = url.hash.slice("#portal=".length);
    const asPortal = api({ apiKey: token });
    const write = await asPortal.PATCH("/v1/webhooks/{webhookId}", {
      ...webhookPath(webhookId),
      body: { active: false },
    });
    expect(write.response.status).toBe(403);
    const publishing = await asPortal.POST("/v1/events", { body: { type: "memory.created", data: {} } });
    expect(publishing.response.status).toBe(403);
    await portal.close();
  });

  it("refuses an expired portal link and says so", async () => {
    const stack = localStack();
    const ddb = DynamoDBDocumentClient.from(
      new DynamoDBClient({
        endpoint: stack.endpoints.dynamodb,
        region: "us-east-1",
        credentials: { accessKeyId: "local", secretAccessKey: "local" },
      }),
    );
    const key = await dynamoCursorKey(ddb, stack.outputs[StackOutput.webhooksTable] ?? "")();
    ddb.destroy();
    const expired = signPortalToken(portalKey(key), {
      tenantId: tenant.tenantId,
      readOnly: true,
      expiresAt: Math.floor(Date.now() / 1000) - 1,
    });
    const portal = await browser.context.newPage();
    await portal.goto(`${stack.consoleUrl}#portal=${expired}`);
    await portal.getByRole("alert").getByText("This portal link has expired or is not valid").waitFor();
    await portal.getByRole("heading", { name: "Hookline console" }).waitFor();
    expect((await callApi("GET", "/v1/webhooks", { apiKey: expired })).status).toBe(401);
    await portal.close();
  });
});

describe("a portal link's token, through the API", () => {
  // Two webhooks of the console's tenant, one link scoped to the first; a third webhook in another tenant.
  let inScope: string;
  let outOfScope: string;
  let otherTenants: string;

  beforeAll(async () => {
    const create = async (apiKey: string) =>
      (
        await answered(
          api({ apiKey }).POST("/v1/webhooks", {
            body: { url: `${receiver.url}/portal`, event_types: ["user.created"] },
          }),
          201,
        )
      ).id;
    inScope = await create(tenant.apiKey);
    outOfScope = await create(tenant.apiKey);
    otherTenants = await create((await newTenant("console-other")).apiKey);
  });

  /** The token of a link the console's tenant asks for. */
  const tokenOf = async (body: { webhook_ids?: string[]; read_only?: boolean }) => {
    const link = await answered(api().POST("/v1/portal-links", { body }), 201);
    return new URL(link.url).hash.slice("#portal=".length);
  };
  const statusOf = async (call: Promise<{ response: Response }>) => (await call).response.status;

  it("is valid for an hour unless asked otherwise, and for at most 24 hours", async () => {
    const link = await answered(api().POST("/v1/portal-links", { body: {} }), 201);
    const lasts = Date.parse(link.expires_at) - Date.now();
    expect(lasts).toBeGreaterThan(3_500_000);
    expect(lasts).toBeLessThanOrEqual(3_600_000);
    expect(await statusOf(api().POST("/v1/portal-links", { body: { expires_in_seconds: 86_400 } }))).toBe(
      201,
    );
    expect(await statusOf(api().POST("/v1/portal-links", { body: { expires_in_seconds: 86_401 } }))).toBe(
      400,
    );
  });

  it("is never issued for a webhook the issuing key cannot see", async () => {
    const refused = await api().POST("/v1/portal-links", { body: { webhook_ids: [otherTenants] } });
    expect(refused.response.status).toBe(404);
    expect(refused.error).toMatchObject({ error: { code: "not_found" } });
  });

  it("scoped to one webhook, reads that one only: not another of its tenant, not another tenant's", async () => {
    const portal = api({ apiKey: await tokenOf({ webhook_ids: [inScope], read_only: true }) });
    const listed = await answered(portal.GET("/v1/webhooks"), 200);
    expect(listed.data.map((shown) => shown.id)).toEqual([inScope]);
    expect(await statusOf(portal.GET("/v1/webhooks/{webhookId}", webhookPath(inScope)))).toBe(200);
    expect(await statusOf(portal.GET("/v1/webhooks/{webhookId}/deliveries", webhookPath(inScope)))).toBe(200);
    for (const beyond of [outOfScope, otherTenants]) {
      expect(await statusOf(portal.GET("/v1/webhooks/{webhookId}", webhookPath(beyond)))).toBe(403);
      expect(await statusOf(portal.GET("/v1/webhooks/{webhookId}/deliveries", webhookPath(beyond)))).toBe(
        403,
      );
      expect(await statusOf(portal.GET("/v1/webhooks/{webhookId}/stats", webhookPath(beyond)))).toBe(403);
    }
    // The tenant's events are for links that cover the whole tenant.
    expect(await statusOf(portal.GET("/v1/events"))).toBe(403);
  });

  it("read-only, changes nothing: no edit, deletion, rotation, test send, retry or recovery", async () => {
    const portal = api({ apiKey: await tokenOf({ webhook_ids: [inScope], read_only: true }) });
    const refused = [
      await portal.PATCH("/v1/webhooks/{webhookId}", { ...webhookPath(inScope), body: { active: false } }),
      await portal.DELETE("/v1/webhooks/{webhookId}", webhookPath(inScope)),
      await portal.POST("/v1/webhooks/{webhookId}/rotate-secret", webhookPath(inScope)),
      await portal.POST("/v1/webhooks/{webhookId}/test", { ...webhookPath(inScope), body: {} }),
      await portal.POST("/v1/webhooks/{webhookId}/recover", {
        ...webhookPath(inScope),
        body: { since: new Date(Date.now() - 60_000).toISOString() },
      }),
      await portal.POST("/v1/webhooks/{webhookId}/deliveries/{deliveryId}/retry", {
        params: { path: { webhookId: inScope, deliveryId: "msg_any" } },
      }),
    ];
    expect(refused.map((answer) => answer.response.status)).toEqual([403, 403, 403, 403, 403, 403]);
    expect(refused[0]?.error).toMatchObject({ error: { code: "forbidden" } });
    const unchanged = await answered(api().GET("/v1/webhooks/{webhookId}", webhookPath(inScope)), 200);
    expect(unchanged.active).toBe(true);
  });

  it("for the whole tenant, sees its webhooks and no other tenant's, and never publishes or issues links", async () => {
    const portal = api({ apiKey: await tokenOf({ read_only: false }) });
    const listed = (await answered(portal.GET("/v1/webhooks", { params: { query: { limit: 100 } } }), 200))
      .data;
    expect(listed.map((shown) => shown.id)).toEqual(expect.arrayContaining([inScope, outOfScope]));
    expect(listed.map((shown) => shown.id)).not.toContain(otherTenants);
    // Another tenant's webhook is a 404, exactly as for an API key.
    expect(await statusOf(portal.GET("/v1/webhooks/{webhookId}", webhookPath(otherTenants)))).toBe(404);
    expect(
      await statusOf(
        portal.PATCH("/v1/webhooks/{webhookId}", { ...webhookPath(otherTenants), body: { active: false } }),
      ),
    ).toBe(404);
    // A writable link writes within its tenant...
    const edited = await answered(
      portal.PATCH("/v1/webhooks/{webhookId}", {
        ...webhookPath(outOfScope),
        body: { description: "via portal" },
      }),
      200,
    );
    expect(edited.description).toBe("via portal");
    // ...but never publishes, and never issues a link (which could outlive it).
    expect(await statusOf(portal.POST("/v1/events", { body: { type: "memory.created", data: {} } }))).toBe(
      403,
    );
    expect(await statusOf(portal.POST("/v1/portal-links", { body: {} }))).toBe(403);
  });
});
