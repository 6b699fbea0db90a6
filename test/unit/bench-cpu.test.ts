import { describe, expect, it } from "vitest";
import { type CpuSnapshot, cpuBoundPerSecond, cpuPerDelivery, parseProcStat } from "../../bench/cpu.ts";

describe("parseProcStat", () => {
  it("reads the parent and the user plus system time of a process", () => {
    const line =
      "4070 (cat) R 4067 4067 1126 0 -1 4194304 125 0 0 0 31 7 0 0 20 0 1 0 210972 3133440 407 18446744073709551615";
    expect(parseProcStat(line)).toEqual({ pid: 4070, ppid: 4067, ticks: 38 });
  });

  it("reads past a command name that holds spaces and parentheses", () => {
    const line = "812 (node (worker) 2) S 1 812 812 0 -1 4194560 9 0 0 0 1200 300 0 0 20 0 11 0 5";
    expect(parseProcStat(line)).toEqual({ pid: 812, ppid: 1, ticks: 1500 });
  });

  it("refuses a line that is not a stat line", () => {
    expect(() => parseProcStat("hello")).toThrow(/not a \/proc stat line/);
  });
});

describe("cpuPerDelivery", () => {
  it("divides each process's CPU over the phase by its deliveries, and adds them up", () => {
    // Prepare
    const before: CpuSnapshot = {
      dynamodb_local: 1_000,
      local_runtime: 2_000,
      other_processes: 0,
      bench: 500,
    };
    const after: CpuSnapshot = {
      dynamodb_local: 6_000,
      local_runtime: 9_000,
      other_processes: 100,
      bench: 1_400,
    };
    // Act
    const per = cpuPerDelivery(before, after, 1_000);
    // Assess
    expect(per).toEqual({ dynamodb_local: 5, local_runtime: 7, other_processes: 0.1, bench: 0.9, total: 13 });
  });
});

describe("cpuBoundPerSecond", () => {
  it("is the cores' milliseconds a second over the CPU one delivery takes", () => {
    expect(cpuBoundPerSecond(13, 2)).toBeCloseTo(153.85, 2);
    expect(cpuBoundPerSecond(2000 / 300, 2)).toBeCloseTo(300, 10);
  });
});
