import { describe, expect, it } from "vitest";
import { nonDefaultSettings } from "../../local/help.ts";

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
