import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { eventually } from "./receiver.ts";

/** The receivers in `examples/`, each started as its README says: `PORT=... WEBHOOK_SECRET=... <command>`. */
export const receiverExamples = [
  {
    name: "node",
    command: process.execPath,
    args: [fileURLToPath(new URL("../../examples/node/server.mjs", import.meta.url))],
  },
  {
    name: "python",
    command: "python3",
    args: [fileURLToPath(new URL("../../examples/python/receiver.py", import.meta.url))],
  },
] as const;

export type ReceiverExample = (typeof receiverExamples)[number];

export const pythonExampleDir = fileURLToPath(new URL("../../examples/python/", import.meta.url));

/** Fails loudly when python3 is missing: the Python example's tests must not pass by not running. */
export function requirePython3(): void {
  const probe = spawnSync("python3", ["--version"], { encoding: "utf8" });
  if (probe.error || probe.status !== 0) {
    throw new Error(
      `python3 is required to test examples/python (${probe.error?.message ?? probe.stderr}); ` +
        "install Python 3 (e.g. apt-get install -y python3) and run the tests again",
    );
  }
}

/** A port that was free a moment ago on 127.0.0.1, to hand to an example as `PORT`. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  server.close();
  await once(server, "close");
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

/** An example receiver running as a child process, with what it printed so far. */
export class RunningExample {
  stdout = "";
  stderr = "";
  spawnError: Error | undefined;
  readonly url: string;
  private readonly child: ChildProcess;

  constructor(child: ChildProcess, port: number) {
    this.child = child;
    this.url = `http://127.0.0.1:${port}/hooks`;
    child.stdout?.setEncoding("utf8").on("data", (text: string) => {
      this.stdout += text;
    });
    child.stderr?.setEncoding("utf8").on("data", (text: string) => {
      this.stderr += text;
    });
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** The lines it printed on stdout (one per verified event, after its start banner). */
  lines(): string[] {
    return this.stdout.split("\n").filter((line) => line.length > 0);
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const exit = once(this.child, "exit");
    this.child.kill("SIGTERM");
    await exit;
  }
}

/** Starts an example on `port` with `secret`, and waits until it answers HTTP. */
export async function startExample(
  example: ReceiverExample,
  options: { port: number; secret: string },
): Promise<RunningExample> {
  if (example.name === "python") requirePython3();
  const child = spawn(example.command, example.args, {
    env: { ...process.env, PORT: String(options.port), WEBHOOK_SECRET: options.secret, HOST: "127.0.0.1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const running = new RunningExample(child, options.port);
  child.on("error", (error) => {
    running.spawnError = error;
  });
  try {
    await eventually(
      `the ${example.name} example to answer on port ${options.port}`,
      async () => {
        if (running.spawnError)
          throw new Error(`could not start the ${example.name} example: ${running.spawnError.message}`);
        if (running.exited) {
          throw new Error(`the ${example.name} example exited early:\n${running.stdout}${running.stderr}`);
        }
        try {
          await fetch(running.url, { method: "GET" });
          return true; // any answer: it is listening
        } catch {
          return undefined;
        }
      },
      15_000,
    );
  } catch (error) {
    await running.stop();
    throw error;
  }
  return running;
}
