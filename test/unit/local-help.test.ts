import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { LOCAL_VARIABLES, nonDefaultSettings, usage } from "../../local/help.ts";

const localDir = path.resolve(import.meta.dirname, "../../local");
const source = (file: string) => readFileSync(path.join(localDir, file), "utf8");

describe("npm start -- --help", () => {
  it("lists every HOOKLINE_ variable the local runtime names", () => {
    // The receiver is another command, with its own --help (npm run receiver -- --help).
    const files = readdirSync(localDir).filter(
      (file) => file.endsWith(".ts") && file !== "receiver.ts" && file !== "help.ts",
    );
    const named = new Set(files.flatMap((file) => source(file).match(/\bHOOKLINE_[A-Z0-9_]+/g) ?? []));
    expect(named.size).toBeGreaterThan(10);
    const listed = new Set(
      usage()
        .match(/^ {2}HOOKLINE_[A-Z0-9_]+/gm)
        ?.map((row) => row.trim()),
    );
    expect([...named].filter((name) => !listed.has(name))).toEqual([]);
  });

  it("gives each variable the default local/start.ts falls back to", () => {
    const start = source("start.ts");
    const defaults = [
      ...start.matchAll(/integer\("(\w+)", ([\d_]+),/g),
      ...start.matchAll(/env\.(\w+) (?:\|\||\?\?) "([^"]*)"/g),
    ].map(([, name, fallback]) => [name, fallback?.replaceAll("_", "")] as const);
    expect(defaults.length).toBeGreaterThan(5);
    for (const [name, fallback] of defaults) {
      const variable = LOCAL_VARIABLES.find((listed) => listed.name === name);
      expect(variable, name).toBeDefined();
      // A variable read only when set (the schedule's period) has no default to show.
      if (variable?.default !== undefined) expect(variable.default, name).toBe(fallback);
    }
  });
});

describe("the start banner's non-default settings", () => {
  it("is empty when nothing is set, or everything is set to its default", () => {
    expect(nonDefaultSettings({})).toEqual([]);
    expect(
      nonDefaultSettings({
        HOOKLINE_RETRY_SCHEDULE: "1, 5, 30, 300, 1800",
        HOOKLINE_DELIVERY_TIMEOUT: " 10 ",
        HOOKLINE_LOCAL_CONCURRENCY: "4",
        HOOKLINE_DIR: "",
      }),
    ).toEqual([]);
  });

  it("names each setting that differs, as a user would write it", () => {
    expect(
      nonDefaultSettings({
        HOOKLINE_RETRY_SCHEDULE: "1, 2,2,2,2",
        HOOKLINE_DELIVERY_TIMEOUT: "2",
        HOOKLINE_LOCAL_STALE_READS_MS: "1000",
        HOME: "/home/someone",
      }),
    ).toEqual([
      "HOOKLINE_RETRY_SCHEDULE=1,2,2,2,2",
      "HOOKLINE_DELIVERY_TIMEOUT=2",
      "HOOKLINE_LOCAL_STALE_READS_MS=1000",
    ]);
  });

  it("refuses a stack setting the app would refuse", () => {
    expect(() => nonDefaultSettings({ HOOKLINE_DELIVERY_TIMEOUT: "0" })).toThrow("HOOKLINE_DELIVERY_TIMEOUT");
  });
});
