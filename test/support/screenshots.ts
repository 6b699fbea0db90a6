/**
 * Refreshes the console's screenshots in docs/images/ (`npm run screenshots`), against a stack that
 * `npm start` is running: a fresh tenant, a receiver that refuses some events, a few events, then the
 * main pages in Chromium.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { Page } from "playwright-core";
import { launchBrowser } from "./browser.ts";
import { type LocalStackInfo, newTenant } from "./local-stack.ts";
import { eventually, Receiver } from "./receiver.ts";

const projectRoot = path.resolve(import.meta.dirname, "../..");
const imagesDir = path.join(projectRoot, "docs", "images");
const stateDir = process.env.HOOKLINE_DIR ?? path.join(projectRoot, ".hookline");

/** Nothing still loading: no busy marker. */
async function settled(page: Page): Promise<void> {
  // A function, not a string: the console's CSP refuses the eval a string would need.
  await page.waitForFunction(() => {
    const doc = (globalThis as unknown as { document: { querySelector(selector: string): unknown } })
      .document;
    return doc.querySelector("[aria-busy]") === null;
  });
}

async function main(): Promise<void> {
  const stack = JSON.parse(await readFile(path.join(stateDir, "local.json"), "utf8")) as LocalStackInfo;
  const tenant = await newTenant("screenshots", stack);
  const receiver = await Receiver.start();
  receiver.behave = (request) =>
    request.rawBody.includes('"memory.deleted"') ? { status: 503, body: "maintenance" } : { status: 200 };
  const api = async (method: string, route: string, body?: unknown, key = tenant.apiKey) => {
    const response = await fetch(`${stack.apiUrl}${route}`, {
      method,
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return (await response.json()) as Record<string, unknown>;
  };
  const webhook = await api("POST", "/v1/webhooks", {
    url: receiver.url,
    event_types: ["memory.*", "session.started"],
    description: "Acme's memory sync",
  });
  await api("POST", "/v1/webhooks", {
    url: `${receiver.url}/billing`,
    event_types: ["quota.*"],
    active: false,
  });
  const webhookId = String(webhook.id);
  for (const [type, data] of [
    ["memory.created", { memory_id: "m_1001", text: "Call the supplier on Monday" }],
    ["session.started", { session_id: "s_77", user_id: "u_42" }],
    ["memory.updated", { memory_id: "m_1001", text: "Call the supplier on Tuesday" }],
    ["memory.deleted", { memory_id: "m_0999" }],
    ["memory.created", { memory_id: "m_1002", text: "Book the review" }],
  ] as const) {
    await api("POST", "/v1/events", { type, data });
  }
  // Every event fanned out and tried at least once, the refused one more than once.
  const deliveries = await eventually(
    "the deliveries to settle",
    async () => {
      const rows = (await api("GET", `/v1/webhooks/${webhookId}/deliveries`)).data as {
        id: string;
        status: string;
        attempt_count: number;
      }[];
      const settled = rows.length === 5 && rows.every((row) => row.status !== "pending");
      return settled && rows.some((row) => row.attempt_count > 1) ? rows : undefined;
    },
    180_000,
  );
  const refused = deliveries.find((row) => row.status !== "delivered") ?? deliveries[0];

  const browser = await launchBrowser();
  try {
    const page = await browser.context.newPage();
    const consoleUrl = new URL("/console/", stack.apiUrl).href;
    await page.goto(consoleUrl);
    await page.getByLabel("API key").fill(tenant.apiKey);
    await page.getByRole("button", { name: "Sign in" }).click();
    const shoot = async (target: Page, route: string, name: string, ready: string) => {
      await target.goto(`${consoleUrl}${route}`);
      await target.getByRole("heading", { name: ready }).first().waitFor();
      await settled(target);
      await target.screenshot({ path: path.join(imagesDir, `${name}.png`), fullPage: true });
    };
    await shoot(page, "#/webhooks", "console-webhooks", "Webhooks");
    await shoot(page, `#/webhooks/${webhookId}`, "console-webhook", "Deliveries per hour");
    await shoot(page, `#/webhooks/${webhookId}/deliveries`, "console-deliveries", "Deliveries");
    await shoot(page, `#/webhooks/${webhookId}/deliveries/${refused?.id}`, "console-delivery", "Attempts");
    const link = await api("POST", "/v1/portal-links", { webhook_ids: [webhookId], read_only: true });
    const portal = await browser.context.newPage();
    await portal.setViewportSize({ width: 390, height: 800 });
    await portal.goto(String(link.url));
    await portal.getByRole("heading", { name: "Webhooks" }).waitFor();
    await settled(portal);
    await portal.screenshot({ path: path.join(imagesDir, "console-portal-mobile.png"), fullPage: true });
  } finally {
    await browser.close();
    await receiver.stop();
  }
  console.log(`screenshots written to ${path.relative(process.cwd(), imagesDir)}/`);
}

await main();
