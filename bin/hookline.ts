#!/usr/bin/env node
import { App, Duration } from "aws-cdk-lib";
import { LOCAL_CONTEXT_KEY, STRICT_TARGETS_CONTEXT_KEY } from "../functions/shared/names.ts";
import { LOCAL_OVERRIDES, type LocalOverride } from "../functions/shared/settings.ts";
import type { HooklineProps } from "../lib/hookline.ts";
import { HooklineStack } from "../lib/hookline-stack.ts";

const app = new App();
const isTrue = (key: string) => String(app.node.tryGetContext(key)) === "true";

/**
 * The variable's value, parsed and range-checked; undefined when it is unset or empty. `P` ties the
 * override's `prop` to HooklineProps, so the table cannot name a prop that does not exist.
 */
function read<T, P extends keyof HooklineProps>(override: LocalOverride<T, P>): T | undefined {
  const text = process.env[override.variable];
  return text === undefined || text === "" ? undefined : override.parse(text);
}

function seconds<P extends keyof HooklineProps>(override: LocalOverride<number, P>): Duration | undefined {
  const value = read(override);
  return value === undefined ? undefined : Duration.seconds(value);
}

/**
 * The local runtime (`npm start`) synthesizes with `hookline:local=true`. Only then do these apply:
 * receivers on this machine may be registered (unless HOOKLINE_ALLOW_PRIVATE_TARGETS=false), and the
 * retry schedule, circuit breaker, reconciler grace and attempt timeout can be shortened from the
 * environment (`LOCAL_OVERRIDES`) so tests run fast. A deployment gets none of it unless someone passes
 * the context on purpose.
 */
function localProps(): HooklineProps {
  const {
    retryScheduleSeconds,
    circuitFailureThreshold,
    circuitCooldownSeconds,
    reconcileGraceSeconds,
    attemptTimeoutSeconds,
    ...limits
  } = LOCAL_OVERRIDES;
  const schedule = read(retryScheduleSeconds);
  const threshold = read(circuitFailureThreshold);
  const cooldown = seconds(circuitCooldownSeconds);
  const grace = seconds(reconcileGraceSeconds);
  const attemptTimeout = seconds(attemptTimeoutSeconds);
  return {
    ...(isTrue(STRICT_TARGETS_CONTEXT_KEY)
      ? {}
      : { endpointSafety: { allowInsecureHttp: true, allowPrivateTargets: true, allowedPorts: "any" } }),
    ...(schedule === undefined ? {} : { [retryScheduleSeconds.prop]: schedule }),
    ...(threshold === undefined ? {} : { [circuitFailureThreshold.prop]: threshold }),
    ...(cooldown === undefined ? {} : { [circuitCooldownSeconds.prop]: cooldown }),
    ...(grace === undefined ? {} : { [reconcileGraceSeconds.prop]: grace }),
    ...(attemptTimeout === undefined ? {} : { [attemptTimeoutSeconds.prop]: attemptTimeout }),
    ...Object.fromEntries(
      Object.values(limits).flatMap((limit) => {
        const value = read(limit);
        return value === undefined ? [] : [[limit.prop, value]];
      }),
    ),
  };
}

new HooklineStack(app, "Hookline", {
  description: "Hookline: webhook delivery",
  hookline: isTrue(LOCAL_CONTEXT_KEY) ? localProps() : {},
});
