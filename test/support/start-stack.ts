import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import type { LocalStackInfo } from "./local-stack.ts";

const projectRoot = path.resolve(import.meta.dirname, "../..");

export interface RunningStack {
  readonly info: LocalStackInfo;
  readonly process: ChildProcess;
  /** Stops the stack with a signal and waits for it to exit; returns its exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Everything the stack printed so far. */
  output(): string;
}

/** Runs `node local/start.ts` exactly as `npm start` does, in its own state directory, until it is ready. */
export async function startStack(options: {
  readonly name: string;
  readonly fresh?: boolean;
  /** Run the emulators in memory (`--in-memory`); implies fresh. */
  readonly inMemory?: boolean;
  readonly env?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
}): Promise<RunningStack> {
  const stateDir = path.join(projectRoot, ".hookline", "test", options.name);
  mkdirSync(stateDir, { recursive: true });
  const infoFile = path.join(stateDir, "local.json");
  rmSync(infoFile, { force: true });
  const flags = options.inMemory === true ? ["--in-memory"] : options.fresh === false ? [] : ["--fresh"];
  const child = spawn(process.execPath, ["local/start.ts", ...flags], {
    cwd: projectRoot,
    env: { ...process.env, PORT: "0", HOOKLINE_DIR: stateDir, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  // Kept on disk as well, so a failed run can be read afterwards.
  const log = createWriteStream(path.join(stateDir, "stack.log"));
  let output = "";
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
    log.write(chunk);
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));

  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  while (!existsSync(infoFile)) {
    if (child.exitCode !== null) throw new Error(`local stack exited with ${child.exitCode}:\n${output}`);
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`local stack was not ready in time:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const info = { ...(JSON.parse(readFileSync(infoFile, "utf8")) as LocalStackInfo), stateDir };
  return {
    info,
    process: child,
    output: () => output,
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** DynamoDB Local processes whose data lives in `stateDir`: there must be none once a stack has stopped. */
export function dynamoDbLocalProcesses(stateDir: string): string[] {
  try {
    return execFileSync("pgrep", ["-fa", "DynamoDBLocal.jar"], { encoding: "utf8" })
      .split("\n")
      .filter((line) => line.includes(stateDir));
  } catch {
    return [];
  }
}
