import { describe, expect, it } from "vitest";
import { changedSettings, settingText } from "../../bin/cli/status.ts";

describe("hookline status's settings", () => {
  it("lists only the settings whose value is not the default, however the keys are ordered", () => {
    const output = JSON.stringify({
      retryScheduleSeconds: { value: [1, 2, 2], default: [60, 300], unit: "seconds" },
      circuitFailureThreshold: { value: 5, default: 5, unit: "count" },
      endpointSafety: {
        value: { allowPrivateTargets: false, allowInsecureHttp: false, allowedPorts: [443] },
        default: { allowInsecureHttp: false, allowPrivateTargets: false, allowedPorts: [443] },
      },
    });
    expect(Object.keys(changedSettings(output))).toEqual(["retryScheduleSeconds"]);
  });

  it("writes values with their units", () => {
    expect(settingText([1, 2, 2], "seconds")).toBe("1, 2, 2 seconds");
    expect(settingText(300, "seconds")).toBe("5 minutes");
    expect(settingText(86_400, "seconds")).toBe("1 day");
    expect(settingText(3, "seconds")).toBe("3 seconds");
    expect(settingText(30, "days")).toBe("30 days");
    expect(settingText(1000, "count")).toBe("1000");
    expect(
      settingText({ allowInsecureHttp: true, allowPrivateTargets: true, allowedPorts: "any" }, undefined),
    ).toBe("http:// and https://, private and loopback addresses allowed, any port");
  });
});
