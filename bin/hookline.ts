#!/usr/bin/env node
import { App, Duration } from "aws-cdk-lib";
import { parseRetrySchedule } from "../functions/domain/retry-schedule.ts";
import { LOCAL_CONTEXT_KEY, STRICT_TARGETS_CONTEXT_KEY } from "../functions/shared/names.ts";
import type { HooklineProps } from "../lib/hookline.ts";
import { HooklineStack } from "../lib/hookline-stack.ts";

const app = new App();
const isTrue = (key: string) => String(app.node.tryGetContext(key)) === "true";

function positiveSeconds(variable: string): Duration | undefined {
  const text = process.env[variable];
  if (text === undefined || text === "") return undefined;
  const seconds = Number(text);
  if (!Number.isInteger(seconds) || seconds < 1)
    throw new Error(`${variable}=${text}: expected whole seconds, at least 1`);
  return Duration.seconds(seconds);
}

/**
 * The local runtime (`npm start`) synthesizes with `hookline:local=true`. Only then do these apply:
 * receivers on this machine may be registered (unless HOOKLINE_ALLOW_PRIVATE_TARGETS=false), and the
 * retry schedule (HOOKLINE_RETRY_SCHEDULE=1,5,30), circuit breaker (HOOKLINE_CIRCUIT_THRESHOLD,
 * HOOKLINE_CIRCUIT_COOLDOWN), reconciler grace (HOOKLINE_RECONCILE_GRACE) and attempt timeout
 * (HOOKLINE_DELIVERY_TIMEOUT), all in seconds, can be shortened from the environment so tests run fast. A deployment gets none of it unless someone passes the context on purpose.
 */
function localProps(): HooklineProps {
  const schedule = process.env.HOOKLINE_RETRY_SCHEDULE;
  const threshold = process.env.HOOKLINE_CIRCUIT_THRESHOLD;
  const cooldown = positiveSeconds("HOOKLINE_CIRCUIT_COOLDOWN");
  const grace = positiveSeconds("HOOKLINE_RECONCILE_GRACE");
  const attemptTimeout = positiveSeconds("HOOKLINE_DELIVERY_TIMEOUT");
  return {
    ...(isTrue(STRICT_TARGETS_CONTEXT_KEY)
      ? {}
      : { endpointSafety: { allowInsecureHttp: true, allowPrivateTargets: true, allowedPorts: "any" } }),
    ...(schedule ? { retryScheduleSeconds: parseRetrySchedule(schedule) } : {}),
    ...(threshold ? { circuitFailureThreshold: Number(threshold) } : {}),
    ...(cooldown ? { circuitCooldown: cooldown } : {}),
    ...(grace ? { reconcileGrace: grace } : {}),
    ...(attemptTimeout ? { attemptTimeout } : {}),
  };
}

new HooklineStack(app, "Hookline", {
  description: "Hookline: webhook delivery",
  hookline: isTrue(LOCAL_CONTEXT_KEY) ? localProps() : {},
});
