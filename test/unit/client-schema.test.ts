import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const GENERATOR = new URL("../../client/generate.ts", import.meta.url).pathname;
const COMMITTED = new URL("../../client/schema.d.ts", import.meta.url).pathname;
const scratch = mkdtempSync(join(tmpdir(), "hookline-client-"));
let regenerated = "";

beforeAll(async () => {
  // `npm run client` itself, into a scratch file: the generator loads the TypeScript 5 compiler,
  // which takes seconds on a loaded machine.
  const out = join(scratch, "schema.d.ts");
  await promisify(execFile)(process.execPath, [GENERATOR, "--out", out]);
  regenerated = readFileSync(out, "utf8");
}, 120_000);

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("the typed client (client/schema.d.ts)", () => {
  it("is what npm run client makes of today's OpenAPI document: run it after changing the API", () => {
    expect(readFileSync(COMMITTED, "utf8")).toBe(regenerated);
  });

  it("types the routes and fields the API serves", () => {
    expect(regenerated).toContain('"/v1/webhooks/{webhookId}/deliveries": {');
    expect(regenerated).toMatch(/PublishEvent: \{\s+type: string;/);
  });
});
