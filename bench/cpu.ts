/**
 * Where this machine's CPU goes during a phase: the CPU time of each process of the local stack, and of
 * the benchmark itself (its load generator and receivers), read from Linux's `/proc`. Each process is
 * counted with all its threads, so the local runtime's figure holds every function's worker. Elsewhere
 * than on Linux nothing is read and the figures are absent.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { commandLine } from "../local/emulators.ts";

export type CpuRole = "dynamodb_local" | "local_runtime" | "other_processes" | "bench";

/** CPU milliseconds each role had used by the time of the snapshot. */
export type CpuSnapshot = Readonly<Record<CpuRole, number>>;

export interface ProcessStat {
  readonly pid: number;
  readonly ppid: number;
  /** User and system time, in clock ticks. */
  readonly ticks: number;
}

/** Reads one line of `/proc/<pid>/stat`; the command name in parentheses may itself hold spaces. */
export function parseProcStat(line: string): ProcessStat {
  const close = line.lastIndexOf(")");
  const pid = Number.parseInt(line, 10);
  // After the name: state, ppid, pgrp, session, tty, tpgid, flags, four fault counts, utime, stime.
  const fields = line.slice(close + 2).split(" ");
  const [ppid, utime, stime] = [fields[1], fields[11], fields[12]].map(Number);
  if (
    close < 0 ||
    Number.isNaN(pid) ||
    [ppid, utime, stime].some((value) => value === undefined || Number.isNaN(value))
  ) {
    throw new Error(`not a /proc stat line: ${line.slice(0, 80)}`);
  }
  return { pid, ppid: ppid as number, ticks: (utime as number) + (stime as number) };
}

/** The CPU each role used between two snapshots, per delivery, and what one delivery took in all. */
export function cpuPerDelivery(
  before: CpuSnapshot,
  after: CpuSnapshot,
  deliveries: number,
): Readonly<Record<CpuRole | "total", number>> {
  const roles = Object.keys(before) as CpuRole[];
  const per = Object.fromEntries(
    roles.map((role) => [role, (after[role] - before[role]) / deliveries]),
  ) as Record<CpuRole, number>;
  return { ...per, total: roles.reduce((sum, role) => sum + per[role], 0) };
}

/** The most deliveries a second `cores` could carry if each took `cpuMsPerDelivery` of CPU and nothing else ran. */
export function cpuBoundPerSecond(cpuMsPerDelivery: number, cores: number): number {
  return (cores * 1000) / cpuMsPerDelivery;
}

function clockTicksPerSecond(): number {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
}

const TICKS_PER_SECOND = process.platform === "linux" ? clockTicksPerSecond() : 100;

/** The CPU used so far by the stack started as `stackPid` (by kind of process) and by `benchPid`. */
export function cpuSnapshot(stackPid: number, benchPid: number): CpuSnapshot | undefined {
  if (process.platform !== "linux") return undefined;
  const stats: ProcessStat[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      stats.push(parseProcStat(readFileSync(`/proc/${entry}/stat`, "utf8")));
    } catch {
      // Gone between the listing and the read.
    }
  }
  const children = new Map<number, ProcessStat[]>();
  for (const stat of stats) children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), stat]);
  const totals: Record<CpuRole, number> = {
    dynamodb_local: 0,
    local_runtime: 0,
    other_processes: 0,
    bench: 0,
  };
  const ms = (ticks: number) => (ticks * 1000) / TICKS_PER_SECOND;
  const visit = (stat: ProcessStat) => {
    const role: CpuRole =
      stat.pid === stackPid
        ? "local_runtime"
        : commandLine(stat.pid)?.includes("DynamoDBLocal.jar")
          ? "dynamodb_local"
          : "other_processes";
    totals[role] += ms(stat.ticks);
    for (const child of children.get(stat.pid) ?? []) visit(child);
  };
  const stack = stats.find((stat) => stat.pid === stackPid);
  if (stack) visit(stack);
  totals.bench = ms(stats.find((stat) => stat.pid === benchPid)?.ticks ?? 0);
  return totals;
}
