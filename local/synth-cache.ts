/**
 * A content-addressed cache of synthesized cloud assemblies, shared by every state directory of the
 * project: a stack whose app, bundles and settings are unchanged copies the assembly an earlier start
 * made instead of running the app and esbuild again (most of a start's time).
 *
 * The key hashes everything the synth output depends on: the app's sources (bin/, lib/, functions/,
 * console/, client/), the files that steer the app and its bundling (cdk.json, tsconfig.json, the
 * package manifest and lock), how the synth runs (local/synth.ts, its mode, app command and context),
 * the Node version, and the HOOKLINE_* and CDK_* variables, less those only the local runtime reads.
 * A custom app (HOOKLINE_CDK_APP) adds each project file its command names and that file's folder,
 * where its own sources live; one that names a file outside the project is never cached.
 *
 * An entry is written into a temporary folder and renamed into place, so a stack never sees half of one;
 * a stack copies its entry into `<stateDir>/cdk.out` rather than running from the cache, so a later
 * eviction cannot pull a bundle from under it.
 */
import { createHash, randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { cp, mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from "node:fs/promises";
import path from "node:path";

const SOURCE_DIRS = ["bin", "lib", "functions", "console", "client"];
const SOURCE_FILES = [
  "cdk.json",
  "cdk.context.json",
  "tsconfig.json",
  "package.json",
  "package-lock.json",
  "local/synth.ts",
];
/** Never part of an app's inputs, even inside a folder that is. */
const SKIPPED_DIRS = new Set(["node_modules", ".hookline", "cdk.out", ".git"]);

/**
 * HOOKLINE_* variables that only the local runtime reads (local/start.ts), never the app: the state
 * directory, ports and the emulators' models. Those that do reach the synth (the strict-targets switch,
 * the app command, the synth mode) are in the key through the context, app and mode.
 */
export const RUNTIME_ONLY_VARIABLES: ReadonlySet<string> = new Set([
  "HOOKLINE_DIR",
  "HOOKLINE_HOST",
  "HOOKLINE_LOCAL_CONCURRENCY",
  "HOOKLINE_LOCAL_THROTTLING",
  "HOOKLINE_LOCAL_ACCOUNT_CONCURRENCY",
  "HOOKLINE_LOCAL_SCHEDULE_SECONDS",
  "HOOKLINE_LOCAL_STALE_READS_MS",
  "HOOKLINE_LOCAL_LOOP_DETECTION",
  "HOOKLINE_LOCAL_REGION",
  "HOOKLINE_STACK",
  "HOOKLINE_COUNT_AWS_REQUESTS",
  "HOOKLINE_SYNTH_CACHE",
]);

/**
 * Entries kept; the least recently used go after each new one. The test suite starts about ten different
 * apps and settings, and should find each one it started before.
 */
const KEPT_ENTRIES = 10;
/** A temporary folder this old belongs to a synth that died; younger ones may still be in use. */
const ABANDONED_AFTER_MS = 60 * 60 * 1000;

export interface SynthKeyInputs {
  readonly projectRoot: string;
  readonly context: Readonly<Record<string, string>>;
  readonly mode: "direct" | "cli";
  /** The app command when it is not cdk.json's. */
  readonly app?: string;
  readonly env: NodeJS.ProcessEnv;
  readonly nodeVersion: string;
}

/**
 * The key of the assembly these inputs synthesize; undefined when they cannot all be known: a custom
 * app command naming a file outside the project, whose sources the key would miss.
 */
export async function synthKey(inputs: SynthKeyInputs): Promise<string | undefined> {
  const app = appFiles(inputs.projectRoot, inputs.app);
  if (app === undefined) return undefined;
  const folders = app.map(path.dirname).filter((dir) => dir !== ".");
  const files = [
    ...SOURCE_FILES,
    ...app,
    ...(await Promise.all([...SOURCE_DIRS, ...folders].map((dir) => filesUnder(inputs.projectRoot, dir)))),
  ].flat();
  const unique = [...new Set(files)].sort();
  const contents = await Promise.all(
    unique.map((file) => readFile(path.join(inputs.projectRoot, file)).catch(() => undefined)),
  );
  const hash = createHash("sha256");
  const settings = {
    node: inputs.nodeVersion,
    mode: inputs.mode,
    app: inputs.app ?? null,
    context: sortedEntries(inputs.context),
    env: sortedEntries(inputs.env).filter(
      ([name]) =>
        (name.startsWith("HOOKLINE_") || name.startsWith("CDK_")) && !RUNTIME_ONLY_VARIABLES.has(name),
    ),
  };
  hash.update(JSON.stringify(settings));
  unique.forEach((file, index) => {
    const content = contents[index];
    // Path and length first, so no file's bytes can pass for another's; a missing file hashes as such.
    hash.update(`\0${file}\0${content === undefined ? "missing" : content.length}\0`);
    if (content !== undefined) hash.update(content);
  });
  return hash.digest("hex");
}

/**
 * The files (relative to the project) a custom app command names; each one's folder is hashed too,
 * where its own sources live. Undefined when it names a file outside the project.
 */
function appFiles(projectRoot: string, app: string | undefined): string[] | undefined {
  if (app === undefined) return [];
  const named = app
    .split(/\s+/)
    .map((token) => token.replace(/^["']|["']$/g, ""))
    .filter((token) => token !== "" && existsSync(path.resolve(projectRoot, token)))
    .map((token) => path.relative(projectRoot, path.resolve(projectRoot, token)));
  return named.some((file) => file.startsWith("..") || path.isAbsolute(file)) ? undefined : named;
}

async function filesUnder(projectRoot: string, dir: string): Promise<string[]> {
  const root = path.join(projectRoot, dir);
  if (!existsSync(root)) return [];
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(projectRoot, path.join(entry.parentPath, entry.name)))
    .filter((file) => !file.split(path.sep).some((part) => SKIPPED_DIRS.has(part)));
}

function sortedEntries(record: Readonly<Record<string, string | undefined>>): [string, string][] {
  return Object.entries(record)
    .flatMap(([name, value]): [string, string][] => (value === undefined ? [] : [[name, value]]))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

export type CachedSynth =
  | { readonly reused: true; readonly synthesizedAt: Date }
  | { readonly reused: false; readonly durationMs: number; readonly storeError?: Error };

export interface CachedSynthOptions {
  readonly cacheDir: string;
  readonly key: string;
  /** Where the stack reads its assembly from. */
  readonly outDir: string;
  /** Synthesizes into the folder given (it empties it first). */
  readonly synthesize: (outDir: string) => Promise<void>;
  /**
   * Entries kept after storing a new one; the least recently used go.
   * @default 10
   */
  readonly keep?: number;
}

interface EntryInfo {
  readonly synthesizedAt: string;
}

/**
 * Copies the cached assembly for `key` into `outDir`, or synthesizes into `outDir` and stores the result.
 * Failing to store is reported, not thrown: the stack has its assembly either way.
 */
export async function synthesizeCached(options: CachedSynthOptions): Promise<CachedSynth> {
  const entry = path.join(options.cacheDir, options.key);
  const reused = await restore(entry, options.outDir);
  if (reused !== undefined) return { reused: true, synthesizedAt: reused };

  const started = Date.now();
  await options.synthesize(options.outDir);
  const durationMs = Date.now() - started;
  try {
    await store(options.cacheDir, entry, options.outDir);
    await evict(options.cacheDir, options.keep ?? KEPT_ENTRIES);
    return { reused: false, durationMs };
  } catch (error) {
    return { reused: false, durationMs, storeError: error as Error };
  }
}

/** The entry's synth time once it is copied; undefined when there is none (or it went while copying). */
async function restore(entry: string, outDir: string): Promise<Date | undefined> {
  try {
    const info = JSON.parse(await readFile(path.join(entry, "entry.json"), "utf8")) as EntryInfo;
    // Marks it the most recently used, so that eviction by another start spares it.
    const now = new Date();
    await utimes(entry, now, now);
    await rm(outDir, { recursive: true, force: true });
    await cp(path.join(entry, "cdk.out"), outDir, { recursive: true });
    return new Date(info.synthesizedAt);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

async function store(cacheDir: string, entry: string, outDir: string): Promise<void> {
  await mkdir(cacheDir, { recursive: true });
  const temporary = path.join(cacheDir, `.tmp-${randomUUID()}`);
  try {
    await cp(outDir, path.join(temporary, "cdk.out"), { recursive: true });
    const info: EntryInfo = { synthesizedAt: new Date().toISOString() };
    await writeFile(path.join(temporary, "entry.json"), JSON.stringify(info));
    await rename(temporary, entry).catch((error: NodeJS.ErrnoException) => {
      // Another start stored the same inputs first; theirs is as good as ours.
      if (error.code !== "ENOTEMPTY" && error.code !== "EEXIST") throw error;
    });
  } finally {
    await rm(temporary, { recursive: true, force: true });
  }
}

async function evict(cacheDir: string, keep: number): Promise<void> {
  const names = await readdir(cacheDir);
  const entries = await Promise.all(
    names.map(async (name) => {
      const stats = await stat(path.join(cacheDir, name)).catch(() => undefined);
      return { name, usedAt: stats?.mtimeMs ?? 0 };
    }),
  );
  const temporary = entries.filter(({ name }) => name.startsWith("."));
  const stored = entries.filter(({ name }) => !name.startsWith(".")).sort((a, b) => b.usedAt - a.usedAt);
  const removed = [
    ...stored.slice(keep),
    ...temporary.filter(({ usedAt }) => Date.now() - usedAt > ABANDONED_AFTER_MS),
  ];
  await Promise.all(
    removed.map(({ name }) => rm(path.join(cacheDir, name), { recursive: true, force: true })),
  );
}
