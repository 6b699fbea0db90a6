/**
 * `npm start -- --verbose` prints the functions' own output (their JSON logs, prefixed with the
 * function's logical id) in the terminal instead of the one-line summaries, and still writes it to
 * `functions.log`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  eventually,
  expectCleanStop,
  type FixtureStack,
  request,
  startFixtureStack,
} from "../fixtures/local-stack/harness.ts";

let stack: FixtureStack;

beforeAll(async () => {
  stack = await startFixtureStack({ name: "verbose", args: ["--fresh", "--verbose"] });
});

afterAll(async () => {
  if (stack === undefined) return;
  await expectCleanStop(stack);
});

describe("npm start -- --verbose", () => {
  it("says in its banner that the functions' output follows", () => {
    expect(stack.output()).toMatch(/Logs +the functions' output below, and in .*functions\.log/);
    expect(stack.output()).not.toContain("--verbose prints it here");
  });

  it("prints each function's raw lines in the terminal, and keeps them in functions.log", async () => {
    const answer = await request(stack.info, "GET", "/items/1", { token: "allow-acme" });
    expect(answer.status).toBe(200);
    const raw = /\[Authorizer\w+\] \{"level":"INFO","message":"authorizing"/;
    await eventually("the authorizer's log line in the terminal", () =>
      raw.test(stack.output()) ? true : undefined,
    );
    expect(stack.functionLog()).toMatch(raw);
  });
});
