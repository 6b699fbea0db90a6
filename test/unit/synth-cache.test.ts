import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LOCAL_OVERRIDES } from "../../functions/shared/settings.ts";
import { LOCAL_VARIABLES } from "../../local/help.ts";
import {
  RUNTIME_ONLY_VARIABLES,
  type SynthKeyInputs,
  synthesizeCached,
  synthKey,
} from "../../local/synth-cache.ts";

let root: string;

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), "synth-cache-"));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A project with one file in each place that matters, and some that do not. */
async function project(): Promise<string> {
  const dir = path.join(root, "project");
  const files: Record<string, string> = {
    "bin/hookline.ts": "new App();",
    "lib/function.ts": "export const memory = 512;",
    "functions/delivery/handler.ts": "export const handler = () => 1;",
    "console/main.ts": "render();",
    "cdk.json": '{"app":"node bin/hookline.ts"}',
    "package-lock.json": '{"lockfileVersion":3}',
    "test/unit/a.test.ts": "it('works')",
    "docs/api.md": "# API",
    "functions/node_modules/x/index.js": "module.exports = 1;",
    "fixtures/app/app.ts": "new App();",
  };
  for (const [file, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
    await writeFile(path.join(dir, file), content);
  }
  return dir;
}

function inputs(projectRoot: string, overrides: Partial<SynthKeyInputs> = {}): SynthKeyInputs {
  return {
    projectRoot,
    context: { "hookline:local": "true" },
    mode: "direct",
    env: { HOOKLINE_DIR: "/state/a", PATH: "/bin" },
    nodeVersion: "v22.12.0",
    ...overrides,
  };
}

describe("the synth cache's key", () => {
  it("is the same for the same inputs, whatever the state directory, port or unrelated variables", async () => {
    const dir = await project();
    const key = await synthKey(inputs(dir));
    expect(
      await synthKey(
        inputs(dir, {
          env: { HOOKLINE_DIR: "/state/b", PORT: "0", HOOKLINE_LOCAL_CONCURRENCY: "8", HOME: "/home/x" },
        }),
      ),
    ).toBe(key);
  });

  it.each([
    "functions/delivery/handler.ts",
    "lib/function.ts",
    "bin/hookline.ts",
    "console/main.ts",
    "package-lock.json",
    "cdk.json",
  ])("changes when %s changes", async (file) => {
    const dir = await project();
    const before = await synthKey(inputs(dir));
    await writeFile(path.join(dir, file), "changed", { flag: "a" });
    expect(await synthKey(inputs(dir))).not.toBe(before);
  });

  it("changes when a source file is added or removed", async () => {
    const dir = await project();
    const before = await synthKey(inputs(dir));
    await writeFile(path.join(dir, "functions/delivery/extra.ts"), "");
    const added = await synthKey(inputs(dir));
    expect(added).not.toBe(before);
    await rm(path.join(dir, "lib/function.ts"));
    expect(await synthKey(inputs(dir))).not.toBe(added);
  });

  it.each(["test/unit/a.test.ts", "docs/api.md", "functions/node_modules/x/index.js"])(
    "stays when %s changes",
    async (file) => {
      const dir = await project();
      const before = await synthKey(inputs(dir));
      await writeFile(path.join(dir, file), "changed", { flag: "a" });
      expect(await synthKey(inputs(dir))).toBe(before);
    },
  );

  it("changes with a HOOKLINE_ or CDK_ variable the app may read, the context, the mode and Node", async () => {
    const dir = await project();
    const base = inputs(dir);
    const key = await synthKey(base);
    const variants: Partial<SynthKeyInputs>[] = [
      { env: { ...base.env, HOOKLINE_DELIVERY_TIMEOUT: "2" } },
      { env: { ...base.env, HOOKLINE_SOMETHING_NEW: "1" } },
      { env: { ...base.env, CDK_DEFAULT_REGION: "eu-west-1" } },
      { context: { ...base.context, "hookline:strict-targets": "true" } },
      { mode: "cli" },
      { nodeVersion: "v22.13.0" },
    ];
    for (const variant of variants) {
      expect(await synthKey({ ...base, ...variant }), JSON.stringify(variant)).not.toBe(key);
    }
  });

  it("takes in the folder of a custom app, which may live under test/", async () => {
    const dir = await project();
    const custom = inputs(dir, { app: "node fixtures/app/app.ts" });
    const before = await synthKey(custom);
    expect(before).not.toBe(await synthKey(inputs(dir)));
    await writeFile(path.join(dir, "fixtures/app/handler.ts"), "export const handler = () => 2;");
    expect(await synthKey(custom)).not.toBe(before);
  });

  it("takes in a custom app file at the project's root, and refuses one outside the project", async () => {
    const dir = await project();
    await writeFile(path.join(dir, "app.ts"), "new App();");
    const atRoot = inputs(dir, { app: "node app.ts" });
    const before = await synthKey(atRoot);
    expect(before).toEqual(expect.any(String));
    await writeFile(path.join(dir, "app.ts"), "changed", { flag: "a" });
    expect(await synthKey(atRoot)).not.toBe(before);

    await writeFile(path.join(root, "elsewhere.ts"), "new App();");
    expect(await synthKey(inputs(dir, { app: `node ${path.join(root, "elsewhere.ts")}` }))).toBeUndefined();
    expect(await synthKey(inputs(dir, { app: "node ../elsewhere.ts" }))).toBeUndefined();
  });

  it("leaves out no variable the app reads: none of the runtime-only ones is a stack setting", () => {
    const appVariables = Object.values(LOCAL_OVERRIDES).map((override) => override.variable);
    expect(appVariables.filter((name) => RUNTIME_ONLY_VARIABLES.has(name))).toEqual([]);
  });

  it("knows every HOOKLINE_ variable the local runtime reads: runtime-only, or in the key by another way", () => {
    // These reach the synth as the context (strict targets), the app command and the synth mode.
    const synthInputs = ["HOOKLINE_ALLOW_PRIVATE_TARGETS", "HOOKLINE_CDK_APP", "HOOKLINE_SYNTH"];
    const unaccounted = LOCAL_VARIABLES.map((variable) => variable.name).filter(
      (name) =>
        name.startsWith("HOOKLINE_") && !RUNTIME_ONLY_VARIABLES.has(name) && !synthInputs.includes(name),
    );
    expect(unaccounted).toEqual([]);
  });
});

describe("the synth cache", () => {
  /** A synth that writes an assembly naming its run, and counts its runs. */
  function fakeSynth() {
    const runs: string[] = [];
    return {
      runs,
      synthesize: async (outDir: string) => {
        runs.push(outDir);
        await rm(outDir, { recursive: true, force: true });
        await mkdir(path.join(outDir, "asset.1"), { recursive: true });
        await writeFile(path.join(outDir, "manifest.json"), `{"run":${runs.length}}`);
        await writeFile(path.join(outDir, "asset.1", "index.mjs"), "export const handler = () => 1;");
      },
    };
  }

  it("synthesizes once, then gives a second state directory a copy of the same assembly", async () => {
    const cacheDir = path.join(root, "cache");
    const synth = fakeSynth();
    const first = await synthesizeCached({
      cacheDir,
      key: "k1",
      outDir: path.join(root, "a", "cdk.out"),
      synthesize: synth.synthesize,
    });
    expect(first.reused).toBe(false);

    const secondOut = path.join(root, "b", "cdk.out");
    const second = await synthesizeCached({
      cacheDir,
      key: "k1",
      outDir: secondOut,
      synthesize: synth.synthesize,
    });
    expect(second.reused).toBe(true);
    expect(synth.runs).toHaveLength(1);
    expect(await readFile(path.join(secondOut, "manifest.json"), "utf8")).toBe('{"run":1}');
    expect(existsSync(path.join(secondOut, "asset.1", "index.mjs"))).toBe(true);
    // A copy: the stack's own assembly outlives the entry.
    await rm(path.join(cacheDir, "k1"), { recursive: true });
    expect(existsSync(path.join(secondOut, "manifest.json"))).toBe(true);
  });

  it("synthesizes again for another key, and keeps only the most recently used entries", async () => {
    const cacheDir = path.join(root, "cache");
    const synth = fakeSynth();
    const outDir = path.join(root, "a", "cdk.out");
    const keep = 4;
    for (const [index, key] of ["k1", "k2", "k3", "k4"].entries()) {
      await synthesizeCached({ cacheDir, key, outDir, synthesize: synth.synthesize, keep });
      // Distinct use times, older first, whatever the file system's timestamp resolution.
      const at = new Date(Date.UTC(2026, 0, 1, 0, index));
      await utimes(path.join(cacheDir, key), at, at);
    }
    expect(
      (await synthesizeCached({ cacheDir, key: "k1", outDir, synthesize: synth.synthesize, keep })).reused,
    ).toBe(true);
    await synthesizeCached({ cacheDir, key: "k5", outDir, synthesize: synth.synthesize, keep });
    expect(synth.runs).toHaveLength(5);
    // k1 was used again, so k2 (the least recently used) went.
    expect((await readdir(cacheDir)).sort()).toEqual(["k1", "k3", "k4", "k5"]);
  });

  it("never shows a half-written entry: two starts storing the same key at once both get a whole assembly", async () => {
    const cacheDir = path.join(root, "cache");
    const synth = fakeSynth();
    const results = await Promise.all(
      ["a", "b"].map((name) =>
        synthesizeCached({
          cacheDir,
          key: "k1",
          outDir: path.join(root, name, "cdk.out"),
          synthesize: synth.synthesize,
        }),
      ),
    );
    expect(results.map((result) => result.reused === false && result.storeError)).toEqual([
      undefined,
      undefined,
    ]);
    expect(await readdir(cacheDir)).toEqual(["k1"]);
    expect(await readdir(path.join(cacheDir, "k1", "cdk.out"))).toEqual(["asset.1", "manifest.json"]);
  });
});
