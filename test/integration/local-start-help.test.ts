/**
 * `npm start -- --help` prints every option and variable with its default, and starts nothing: no
 * state directory, no synth, no emulators.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { LOCAL_OVERRIDES } from "../../functions/shared/settings.ts";
import { projectRoot } from "../fixtures/local-stack/harness.ts";

const parent = mkdtempSync(path.join(tmpdir(), "hookline-help-"));
const stateDir = path.join(parent, "state");

afterAll(() => rmSync(parent, { recursive: true, force: true }));

describe("npm start -- --help", () => {
  for (const flag of ["--help", "-h"]) {
    it(`${flag} lists every stack setting with its default and exits 0 without starting`, () => {
      const run = spawnSync(process.execPath, ["local/start.ts", flag], {
        cwd: projectRoot,
        env: { ...process.env, HOOKLINE_DIR: stateDir, PORT: "0" },
        encoding: "utf8",
        timeout: 30_000,
      });
      expect(run.status, run.stderr).toBe(0);
      for (const option of [
        "--fresh",
        "--in-memory",
        "--no-synth",
        "--verbose",
        "PORT",
        "HOOKLINE_DIR",
        "HOOKLINE_HOST",
      ]) {
        expect(run.stdout).toContain(option);
      }
      const lines = run.stdout.split("\n");
      for (const setting of Object.values(LOCAL_OVERRIDES)) {
        const row = lines.find((line) => line.trim().startsWith(`${setting.variable} `));
        expect(row, setting.variable).toBeDefined();
        expect(row?.split(/\s+/).filter(Boolean)[1]).toBe(String(setting.default));
      }
      expect(existsSync(stateDir)).toBe(false);
    });
  }
});
