/**
 * The synth cache across real starts of the fixture app: a second stack, in another state directory,
 * runs the app the first one synthesized; a changed input, or HOOKLINE_SYNTH_CACHE=false, synthesizes
 * again.
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  type FixtureStack,
  request,
  startFixtureStack,
  stateDirOf,
} from "../fixtures/local-stack/harness.ts";

// Every HOOKLINE_ variable is part of the key, so a value of its own gives this run inputs that no
// earlier run (nor another test's stack) stored.
const RUN_ENV = { HOOKLINE_SYNTH_CACHE_TEST_RUN: randomUUID() };
const REUSED = /reused the app synthesized at .+ \(nothing it depends on changed\)/;
const SYNTHESIZED = /synthesized in \d/;
/**
 * A first synth of the fixture app on a busy 2-core machine has taken 48 s; the start that follows it
 * needs the emulators too. Each test starts one stack, so its bound is the start's plus the checks'.
 */
const START_TIMEOUT_MS = 150_000;
const TEST_TIMEOUT_MS = 200_000;

let stack: FixtureStack | undefined;

afterEach(async () => {
  const running = stack;
  stack = undefined;
  if (running === undefined) return;
  expect(await running.stop("SIGTERM"), running.output().slice(-3000)).toBe(0);
});

async function start(name: string, env: Readonly<Record<string, string>>): Promise<FixtureStack> {
  stack = await startFixtureStack({
    name,
    args: ["--in-memory"],
    env: { ...RUN_ENV, ...env },
    timeoutMs: START_TIMEOUT_MS,
  });
  return stack;
}

/** The template a stack in state directory `stateDir` runs (kept there after the stack stops). */
function template(stateDir: string): string {
  return readFileSync(path.join(stateDir, "cdk.out", "HooklineLocalFixture.template.json"), "utf8");
}

/** The context the fixture's function was synthesized with, as it reports it. */
async function functionEnv(running: FixtureStack): Promise<Record<string, string>> {
  const echo = await request(running.info, "GET", "/items/1", { token: "allow-acme" });
  expect(echo.status, echo.text).toBe(200);
  return (echo.json as { env: Record<string, string> }).env;
}

describe("the synth cache", { timeout: TEST_TIMEOUT_MS }, () => {
  it("synthesizes the app the first time its inputs are seen", async () => {
    const first = await start("synth-cache-a", {});
    expect(first.output()).toMatch(SYNTHESIZED);
    expect(first.output()).not.toMatch(REUSED);
    expect(await functionEnv(first)).toMatchObject({ local: "true" });
  });

  it("gives a stack in another state directory the same app without synthesizing", async () => {
    const second = await start("synth-cache-b", {});
    expect(second.output()).toMatch(REUSED);
    expect(second.output()).not.toMatch(SYNTHESIZED);
    expect(template(second.stateDir)).toBe(template(stateDirOf("synth-cache-a")));
    expect(await functionEnv(second)).toMatchObject({ local: "true" });
  });

  it("synthesizes again when an input changes, and the stack runs the new app", async () => {
    const third = await start("synth-cache-b", { HOOKLINE_ALLOW_PRIVATE_TARGETS: "false" });
    expect(third.output()).toMatch(SYNTHESIZED);
    expect(third.output()).not.toMatch(REUSED);
    expect(await functionEnv(third)).toMatchObject({ local: "true", strictTargets: "true" });
  });

  it("synthesizes every start with HOOKLINE_SYNTH_CACHE=false", async () => {
    const uncached = await start("synth-cache-a", { HOOKLINE_SYNTH_CACHE: "false" });
    expect(uncached.output()).toMatch(SYNTHESIZED);
    expect(uncached.output()).not.toMatch(REUSED);
  });
});
