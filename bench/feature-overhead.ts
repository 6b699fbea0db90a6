/**
 * `node bench/feature-overhead.ts`: what the issue-15 features cost a publish and a delivery that use none
 * of them, in this process's CPU time per call. The benchmark's counted AWS work cannot show it (the
 * features add no request), and its Lambda durations vary more between runs on a shared machine than
 * these costs, so they are timed here on their own.
 */
import { performance } from "node:perf_hooks";
import type { Webhook } from "../functions/domain/model.ts";
import { selectsEvent } from "../functions/domain/publish.ts";
import { DEFAULT_EVENT_TYPES } from "../functions/shared/event-catalogue.ts";
import { exampleEventData } from "../functions/shared/event-example.ts";
import { eventDataCheck } from "../functions/shared/event-schemas.ts";

const CALLS = 100_000;

function microsecondsPerCall(run: () => unknown): number {
  for (let warm = 0; warm < 1_000; warm += 1) run();
  const started = performance.now();
  for (let call = 0; call < CALLS; call += 1) run();
  return ((performance.now() - started) * 1000) / CALLS;
}

const typed = DEFAULT_EVENT_TYPES.find((definition) => definition.schema !== undefined);
if (typed === undefined) throw new Error("the default catalogue has no type with a schema");
const data = exampleEventData(typed);
const check = eventDataCheck(DEFAULT_EVENT_TYPES);
const compileStarted = performance.now();
const problems = check(typed.name, data);
const compileMs = performance.now() - compileStarted;
if (problems.length > 0) throw new Error(`${typed.name}'s example does not match its schema`);

const unfiltered: Pick<Webhook, "eventTypes" | "filter" | "ordering"> = { eventTypes: [typed.name] };
const figures: [string, string][] = [
  [`schema check of a ${typed.name} event, first (compiles the schema)`, `${compileMs.toFixed(1)} ms`],
  [
    `schema check of a ${typed.name} event, after`,
    `${microsecondsPerCall(() => check(typed.name, data)).toFixed(2)} µs`,
  ],
  [
    "schema check of a type without a schema",
    `${microsecondsPerCall(() => check("no.schema", data)).toFixed(2)} µs`,
  ],
  [
    "selecting a webhook without a filter",
    `${microsecondsPerCall(() => selectsEvent(unfiltered, typed.name, () => data)).toFixed(2)} µs`,
  ],
  [
    "the ordering check of an unordered webhook",
    `${microsecondsPerCall(() => unfiltered.ordering === "fifo").toFixed(3)} µs`,
  ],
];
process.stdout.write(
  `feature overhead on this machine (Node ${process.version}, ${CALLS.toLocaleString("en")} calls each)\n`,
);
for (const [what, figure] of figures) process.stdout.write(`  ${what.padEnd(70)} ${figure}\n`);
