/**
 * The README's shell blocks, run in order in one bash against the end-to-end stack, as a reader pastes
 * them after `npm start`: from a checkout whose `.hookline` is that stack's state directory, so that the
 * README's own `export API=...` and `npx hookline` find it. Blocks marked `readme-test: skip` are not
 * run, `readme-test: background` ones run in the background until the end (test/support/readme-blocks.ts).
 * The receivers' ports are swapped for free ones, so that runs side by side do not meet.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { expect, it } from "vitest";
import { localStack } from "../support/local-stack.ts";
import { receiverPorts, type ShellBlock, script, shellBlocks, withPorts } from "../support/readme-blocks.ts";
import { eventually } from "../support/receiver.ts";

const projectRoot = path.resolve(import.meta.dirname, "../..");
// The blocks take about 3 minutes on a loaded machine, most of it starting `npx hookline` a few times.
const RUN_TIMEOUT_MS = 420_000;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A checkout as a reader has it, but with the e2e stack's state directory as its `.hookline`. */
function readerCheckout(): string {
  const view = mkdtempSync(path.join(os.tmpdir(), "hookline-readme-"));
  for (const entry of readdirSync(projectRoot)) {
    if (entry === ".hookline" || entry === ".git") continue;
    symlinkSync(path.join(projectRoot, entry), path.join(view, entry));
  }
  symlinkSync(localStack().stateDir, path.join(view, ".hookline"));
  return view;
}

function run(file: string, cwd: string): Promise<{ code: number | null; output: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.HOOKLINE_DIR;
  delete env.HOOKLINE_API_KEY;
  // Its own process group: the background receivers are stopped with the shell.
  const child = spawn("bash", [file], { cwd, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const stopGroup = () => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, "SIGTERM");
    } catch {
      // Already gone.
    }
  };
  const timer = setTimeout(() => {
    output += `\n(stopped after ${RUN_TIMEOUT_MS / 1_000} seconds)`;
    stopGroup();
  }, RUN_TIMEOUT_MS);
  return new Promise((resolve) => {
    child.once("close", (code) => {
      clearTimeout(timer);
      stopGroup();
      resolve({ code, output });
    });
  });
}

/** The failing block as the README shows it, with the failing line marked. */
function describeFailure(blocks: readonly ShellBlock[], output: string): string {
  const failed = /README_FAILED block=(\d+) line=(\d+) status=(\d+)/.exec(output);
  if (!failed) return "the README's blocks did not finish (see the output below)";
  const [blockLine, line, status] = [Number(failed[1]), Number(failed[2]), failed[3]];
  const block = blocks.find((candidate) => candidate.line === blockLine);
  const shown = (block?.lines ?? []).map(
    (text, offset) =>
      `${block && block.line + offset === line ? ">" : " "} ${block ? block.line + offset : ""} ${text}`,
  );
  return `README.md: the block at line ${blockLine} failed at line ${line} (exit status ${status}):\n${shown.join("\n")}`;
}

/**
 * Waits until the API answers with the stack's key: on a loaded machine the first cold starts of the
 * authorizer and the management function can outlast their init timeout, which is not the README's doing.
 */
async function warm(): Promise<void> {
  const { apiUrl, apiKey } = localStack();
  await eventually(
    "the API to answer GET /v1/webhooks",
    async () => {
      const response = await fetch(`${apiUrl}/v1/webhooks?limit=1`, {
        headers: { authorization: `Bearer ${apiKey}` },
      }).catch(() => undefined);
      return response?.status === 200 ? true : undefined;
    },
    120_000,
  );
}

it("runs every shell block of the README, in order, against the local stack", async () => {
  await warm();
  const blocks = shellBlocks(readFileSync(path.join(projectRoot, "README.md"), "utf8"));
  expect(blocks.filter((block) => block.mode === "run").length).toBeGreaterThan(5);
  const ports = new Map<string, number>();
  for (const port of receiverPorts(blocks)) ports.set(port, await freePort());
  const view = readerCheckout();
  try {
    const file = path.join(view, ".readme-blocks.sh");
    const backgroundLog = (block: ShellBlock) => path.join(view, `.background-${block.line}.log`);
    writeFileSync(file, withPorts(script(blocks, backgroundLog), ports));
    const { code, output } = await run(file, view);
    const background = blocks
      .filter((block) => block.mode === "background")
      .map((block) => `--- background block at line ${block.line}:\n${safeRead(backgroundLog(block))}`);
    const report = [output.slice(-6_000), ...background].join("\n");
    expect(
      code === 0 && output.includes("README_DONE"),
      `${describeFailure(blocks, output)}\n\n${report}`,
    ).toBe(true);
  } finally {
    rmSync(view, { recursive: true, force: true });
  }
}, 480_000);

function safeRead(file: string): string {
  try {
    return readFileSync(file, "utf8").slice(-1_500);
  } catch {
    return "(no output)";
  }
}
