import type { Duration } from "aws-cdk-lib";
import { type RangeSetting, rangeProblem } from "../functions/shared/settings.ts";

/** A prop's name, the range its setting allows, and its value in the setting's unit (undefined: not set). */
export type RangeCheck = readonly [prop: string, setting: RangeSetting, value: number | undefined];

/**
 * Throws one Error naming every prop that is out of range, so that `cdk synth` fails on a value the
 * functions would only reject at cold start, after a deployment. `problems` are found by other checks.
 */
export function checkProps(
  construct: string,
  checks: readonly RangeCheck[],
  problems: readonly string[] = [],
): void {
  const all = [
    ...checks.flatMap(([prop, setting, value]) => {
      const problem = value === undefined ? undefined : rangeProblem(setting, value);
      return problem === undefined ? [] : [`${prop} ${problem}`];
    }),
    ...problems,
  ];
  if (all.length > 0) throw new Error(`${construct}: ${all.join("; ")}`);
}

/** A Duration prop in seconds, a fraction kept so that the range check rejects it by the prop's name. */
export function secondsOf(duration: Duration | undefined): number | undefined {
  return duration?.toSeconds({ integral: false });
}
