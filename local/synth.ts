/**
 * Synthesizes the CDK app into a cloud assembly, the same way `cdk synth` does.
 *
 * The default ("direct") runs the app command from `cdk.json` with the environment the CDK CLI gives
 * it: `CDK_OUTDIR` and `CDK_CONTEXT_JSON` holding the context of `cdk.json`, `cdk.context.json`, the
 * CLI's defaults (asset and path metadata, bundling of every stack) and ours. That skips the CLI's own
 * start-up, about half of `cdk synth`'s time. `HOOKLINE_SYNTH=cli` runs `cdk synth` instead.
 *
 * NodejsFunction runs esbuild as `npx --no-install esbuild`; a shim earlier on PATH runs the project's
 * own `node_modules/.bin/esbuild` directly (the binary npx would pick), saving npm's start-up per function.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";

export interface SynthOptions {
  readonly projectRoot: string;
  /** Where the assembly goes; emptied first. */
  readonly outDir: string;
  /** A scratch directory for the esbuild shim. */
  readonly scratchDir: string;
  /** The app command; defaults to `app` in cdk.json. */
  readonly app?: string;
  readonly context: Readonly<Record<string, string>>;
  readonly mode: "direct" | "cli";
}

/** Context keys the CDK CLI sets on every synth unless told otherwise. */
const CLI_DEFAULT_CONTEXT = {
  "aws:cdk:enable-path-metadata": true,
  "aws:cdk:enable-asset-metadata": true,
  "aws:cdk:version-reporting": true,
  "aws:cdk:bundling-stacks": ["**"],
};

export async function synthesize(options: SynthOptions): Promise<void> {
  const cdkJson = await readJson(path.join(options.projectRoot, "cdk.json"));
  const app = options.app ?? (typeof cdkJson.app === "string" ? cdkJson.app : undefined);
  if (app === undefined) throw new Error(`no app command: set "app" in cdk.json or HOOKLINE_CDK_APP`);

  await rm(options.outDir, { recursive: true, force: true });
  await mkdir(options.outDir, { recursive: true });
  const env = { ...process.env, PATH: await esbuildShimPath(options) };

  if (options.mode === "cli") {
    const contextArgs = Object.entries(options.context).flatMap(([key, value]) => ["-c", `${key}=${value}`]);
    const cdk = path.join(options.projectRoot, "node_modules", ".bin", "cdk");
    await run(
      cdk,
      ["synth", "--quiet", "--app", app, ...contextArgs, "-o", options.outDir],
      options.projectRoot,
      env,
    );
    return;
  }

  const savedContext = await readJson(path.join(options.projectRoot, "cdk.context.json"));
  const context = {
    ...(isObject(cdkJson.context) ? cdkJson.context : {}),
    ...savedContext,
    ...CLI_DEFAULT_CONTEXT,
    ...options.context,
  };
  await run("sh", ["-c", app], options.projectRoot, {
    ...env,
    CDK_OUTDIR: options.outDir,
    CDK_CONTEXT_JSON: JSON.stringify(context),
  });
}

async function esbuildShimPath(options: SynthOptions): Promise<string> {
  const inherited = process.env.PATH ?? "";
  const esbuild = path.join(options.projectRoot, "node_modules", ".bin", "esbuild");
  if (!existsSync(esbuild)) return inherited;
  const shimDir = path.join(options.scratchDir, "bin");
  await mkdir(shimDir, { recursive: true });
  const shim = path.join(shimDir, "npx");
  await writeFile(
    shim,
    [
      "#!/bin/sh",
      "# Written by local/synth.ts: runs the project's esbuild without npm's start-up; anything else goes to npx.",
      `if [ "$1" = "--no-install" ] && [ "$2" = "esbuild" ]; then shift 2; exec ${shellQuote(esbuild)} "$@"; fi`,
      `PATH=${shellQuote(inherited)} exec npx "$@"`,
      "",
    ].join("\n"),
  );
  await chmod(shim, 0o755);
  return `${shimDir}${path.delimiter}${inherited}`;
}

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    const output: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => output.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => output.push(chunk));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      if (code === 0) return resolve();
      const text = Buffer.concat(output).toString("utf8").trimEnd();
      const tail = text.split("\n").slice(-40).join("\n");
      reject(new Error(`synth failed (${[command, ...args].join(" ")} exited ${code ?? signal}):\n${tail}`));
    });
  });
}

async function readJson(file: string): Promise<Record<string, unknown>> {
  if (!existsSync(file)) return {};
  const parsed: unknown = JSON.parse(await readFile(file, "utf8"));
  return isObject(parsed) ? parsed : {};
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}
