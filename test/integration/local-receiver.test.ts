/**
 * `npm run receiver`, the README's receiver for trying Hookline: it explains itself with `--help`, and a
 * mistake (a busy port, an unknown option) is one line and exit code 1, not a stack trace.
 */
import { spawn } from "node:child_process";
import net from "node:net";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";

const projectRoot = path.resolve(import.meta.dirname, "../..");

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `node local/receiver.ts` as `npm run receiver` does, until it exits (bounded). */
function receiver(args: readonly string[], timeoutMs = 20_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["local/receiver.ts", ...args], {
      cwd: projectRoot,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the receiver did not exit within ${timeoutMs} ms:\n${stdout}${stderr}`));
    }, timeoutMs);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

let occupier: net.Server | undefined;

afterEach(async () => {
  await new Promise<void>((resolve) => (occupier ? occupier.close(() => resolve()) : resolve()));
  occupier = undefined;
});

describe("npm run receiver", () => {
  it("prints its options with --help and exits 0", async () => {
    const run = await receiver(["--help"]);

    expect(run.code).toBe(0);
    expect(run.stdout).toContain("npm run receiver -- [options]");
    for (const option of ["--port", "--secret", "--status", "--help"]) expect(run.stdout).toContain(option);
    expect(run.stdout).toContain("default 4000");
    expect(run.stderr).toBe("");
  });

  it("says in one line that a busy port is busy, and exits 1", async () => {
    const server = net.createServer();
    occupier = server;
    const port = await new Promise<number>((resolve) =>
      server.listen(0, "127.0.0.1", () => resolve((server.address() as net.AddressInfo).port)),
    );

    const run = await receiver(["--port", String(port)]);

    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`port ${port} is in use; pick another with --port\n`);
  });

  it("names an unknown option in one line, and exits 1", async () => {
    const run = await receiver(["--prot", "4000"]);

    expect(run.code).toBe(1);
    expect(run.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(run.stderr).toContain("--prot");
    expect(run.stderr).toContain("--help");
  });

  it("refuses a status it could not answer with", async () => {
    const run = await receiver(["--status", "abc"]);

    expect(run.code).toBe(1);
    expect(run.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(run.stderr).toContain("--status");
  });
});
