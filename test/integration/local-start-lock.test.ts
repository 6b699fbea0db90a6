/**
 * A second `npm start` on a state directory whose stack is running must refuse before it touches
 * anything: the running stack's `local.json` (which the CLI and the README's `export API=...` read) and
 * its `cdk.out` (whose bundles it runs) stay as they are, and the running stack keeps answering.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  FIXTURE_APP,
  type FixtureStack,
  type LocalInfo,
  projectRoot,
  request,
  startFixtureStack,
} from "../fixtures/local-stack/harness.ts";

let running: FixtureStack | undefined;

afterAll(async () => {
  await running?.stop("SIGTERM");
});

/** Runs `node local/start.ts` on `stateDir` to its exit (bounded); returns its exit code and output. */
function startAgain(
  stateDir: string,
  args: readonly string[],
  timeoutMs = 60_000,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["local/start.ts", ...args], {
      cwd: projectRoot,
      env: { ...process.env, PORT: "0", HOOKLINE_DIR: stateDir, HOOKLINE_CDK_APP: FIXTURE_APP },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the second start did not exit within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** When the assembly and its manifest were last written: a synth replaces both. */
function assemblyTimes(cdkOut: string): { dir: number; manifest: number } {
  return {
    dir: statSync(cdkOut).mtimeMs,
    manifest: statSync(path.join(cdkOut, "manifest.json")).mtimeMs,
  };
}

describe("a second npm start on a running stack's state directory", () => {
  it.each([
    { label: "a plain start (which synthesizes)", args: [] },
    { label: "--fresh", args: ["--fresh"] },
  ])("refuses with $label and leaves the running stack alone", async ({ args }) => {
    running ??= await startFixtureStack({ name: "start-lock" });
    const first = running;
    const localJson = path.join(first.stateDir, "local.json");
    const cdkOut = path.join(first.stateDir, "cdk.out");
    const before = assemblyTimes(cdkOut);

    const second = await startAgain(first.stateDir, args);

    expect(second.code, second.output).toBe(1);
    expect(second.output).toContain(
      `another local stack (pid ${first.child.pid}) is running with this state directory`,
    );
    expect(existsSync(localJson)).toBe(true);
    expect((JSON.parse(readFileSync(localJson, "utf8")) as LocalInfo).pid).toBe(first.child.pid);
    expect(assemblyTimes(cdkOut)).toEqual(before);
    const answer = await request(first.info, "GET", "/items/1", { token: "allow-acme" });
    expect(answer.status).toBe(200);
  });
});
