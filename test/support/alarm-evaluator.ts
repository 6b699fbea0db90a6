/**
 * CloudWatch's "M out of N" alarm evaluation, as documented in "Evaluating an alarm" of the CloudWatch
 * user guide: at the end of each period the alarm looks at the last N datapoints (`EvaluationPeriods`)
 * and is in ALARM when at least M (`DatapointsToAlarm`) of them breach the threshold. A missing
 * datapoint counts as `TreatMissingData` says. Only the two treatments whose outcome does not depend on
 * the alarm's history are modelled; the others are refused rather than guessed.
 */

/** The synthesized `AWS::CloudWatch::Alarm` properties the evaluation depends on. */
export interface AlarmDefinition {
  readonly ComparisonOperator: string;
  readonly Threshold: number;
  readonly EvaluationPeriods: number;
  readonly DatapointsToAlarm?: number;
  readonly TreatMissingData?: string;
}

export type AlarmState = "ALARM" | "OK";

const COMPARISONS: Readonly<Record<string, (value: number, threshold: number) => boolean>> = {
  GreaterThanThreshold: (value, threshold) => value > threshold,
  GreaterThanOrEqualToThreshold: (value, threshold) => value >= threshold,
  LessThanThreshold: (value, threshold) => value < threshold,
  LessThanOrEqualToThreshold: (value, threshold) => value <= threshold,
};

/**
 * The alarm's state at the end of each period of `series` (one datapoint per period, `undefined` where
 * the metric had no datapoint). Periods before the series began count as missing.
 */
export function alarmStates(alarm: AlarmDefinition, series: readonly (number | undefined)[]): AlarmState[] {
  const breaches = COMPARISONS[alarm.ComparisonOperator];
  if (!breaches) throw new Error(`comparison ${alarm.ComparisonOperator} is not modelled`);
  const treatMissing = alarm.TreatMissingData ?? "missing";
  if (treatMissing !== "notBreaching" && treatMissing !== "breaching") {
    throw new Error(`TreatMissingData ${treatMissing} is not modelled`);
  }
  const periods = alarm.EvaluationPeriods;
  const needed = alarm.DatapointsToAlarm ?? periods;
  return series.map((_value, end) => {
    let breaching = 0;
    for (let index = end - periods + 1; index <= end; index++) {
      const value = index < 0 ? undefined : series[index];
      if (value === undefined ? treatMissing === "breaching" : breaches(value, alarm.Threshold)) breaching++;
    }
    return breaching >= needed ? "ALARM" : "OK";
  });
}

/** The index of the first period that ends in ALARM, or undefined when none does. */
export function firstAlarm(
  alarm: AlarmDefinition,
  series: readonly (number | undefined)[],
): number | undefined {
  const index = alarmStates(alarm, series).indexOf("ALARM");
  return index === -1 ? undefined : index;
}
