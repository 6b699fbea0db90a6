import { describe, expect, it } from "vitest";
import { loadConfig } from "../../functions/adapters/config.ts";
import { EnvVar } from "../../functions/shared/names.ts";

const POLICY = { allowInsecureHttp: false, allowPrivateTargets: false, allowedPorts: [443] };

/** What the CDK constructs give the delivery function, which reads the most settings. */
const VALID: Readonly<Record<string, string>> = {
  [EnvVar.webhooksTable]: "hookline-webhooks",
  [EnvVar.eventsTable]: "hookline-events",
  [EnvVar.deliveryQueueUrl]: "https://sqs.eu-west-1.amazonaws.com/123456789012/delivery",
  [EnvVar.priorityQueueUrl]: "https://sqs.eu-west-1.amazonaws.com/123456789012/priority",
  [EnvVar.deadLetterQueueUrl]: "https://sqs.eu-west-1.amazonaws.com/123456789012/dead-letters",
  [EnvVar.eventTypes]: JSON.stringify([
    { name: "memory.created", description: "a memory was stored" },
    { name: "memory.deleted", description: "a memory was removed", priority: "high" },
  ]),
  [EnvVar.endpointPolicy]: JSON.stringify(POLICY),
  [EnvVar.deliveryTimeoutSeconds]: "10",
  [EnvVar.retentionDays]: "30",
  [EnvVar.version]: "1.2.3",
  [EnvVar.retryStateMachineArn]: "arn:aws:states:eu-west-1:123456789012:stateMachine:retry",
  [EnvVar.retrySchedule]: "1,5,30,300,1800",
  [EnvVar.circuitFailureThreshold]: "5",
  [EnvVar.circuitCooldownSeconds]: "300",
  [EnvVar.reconcileGraceSeconds]: "120",
  [EnvVar.secretRotationOverlapSeconds]: "86400",
};

type SettingKey = Parameters<typeof loadConfig>[0][number];

/** Every setting a function can read (the variables VALID sets, which are all of them). */
const ALL_KEYS = (Object.keys(EnvVar) as (keyof typeof EnvVar)[]).filter(
  (key): key is SettingKey => EnvVar[key] in VALID,
);

function problemsOf(load: () => unknown): string {
  try {
    load();
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  throw new Error("expected the configuration to be refused");
}

describe("loadConfig", () => {
  it("parses every setting into its type: numbers, JSON documents, URLs", () => {
    const config = loadConfig(ALL_KEYS, VALID);

    expect(config).toEqual({
      webhooksTable: "hookline-webhooks",
      eventsTable: "hookline-events",
      deliveryQueueUrl: VALID[EnvVar.deliveryQueueUrl],
      priorityQueueUrl: VALID[EnvVar.priorityQueueUrl],
      deadLetterQueueUrl: VALID[EnvVar.deadLetterQueueUrl],
      eventTypes: [
        { name: "memory.created", description: "a memory was stored" },
        { name: "memory.deleted", description: "a memory was removed", priority: "high" },
      ],
      endpointPolicy: POLICY,
      deliveryTimeoutSeconds: 10,
      retentionDays: 30,
      version: "1.2.3",
      retryStateMachineArn: VALID[EnvVar.retryStateMachineArn],
      retrySchedule: [1, 5, 30, 300, 1800],
      circuitFailureThreshold: 5,
      circuitCooldownSeconds: 300,
      reconcileGraceSeconds: 120,
      secretRotationOverlapSeconds: 86_400,
    });
  });

  it("loads only the subset a handler asks for, and needs only its variables", () => {
    // The authorizer reads the webhooks table and nothing else.
    const env = { [EnvVar.webhooksTable]: "hookline-webhooks", [EnvVar.deliveryTimeoutSeconds]: "999" };
    expect(loadConfig(["webhooksTable"], env)).toEqual({ webhooksTable: "hookline-webhooks" });

    // Ingest's subset: a broken setting that only the delivery function reads does not stop it.
    const ingest = loadConfig(
      ["webhooksTable", "eventsTable", "deliveryQueueUrl", "eventTypes", "retentionDays", "priorityQueueUrl"],
      { ...VALID, [EnvVar.circuitFailureThreshold]: "0" },
    );
    expect(Object.keys(ingest).sort()).toEqual(
      [
        "deliveryQueueUrl",
        "eventTypes",
        "eventsTable",
        "priorityQueueUrl",
        "retentionDays",
        "webhooksTable",
      ].sort(),
    );
  });

  it("fails fast listing every missing or invalid variable, not just the first", () => {
    const message = problemsOf(() =>
      loadConfig(ALL_KEYS, {
        ...VALID,
        [EnvVar.eventsTable]: undefined,
        [EnvVar.deliveryQueueUrl]: "not a url",
        [EnvVar.deliveryTimeoutSeconds]: "45",
        [EnvVar.circuitFailureThreshold]: "0",
      }),
    );

    expect(message).toMatch(/^invalid configuration/);
    for (const name of [
      EnvVar.eventsTable,
      EnvVar.deliveryQueueUrl,
      EnvVar.deliveryTimeoutSeconds,
      EnvVar.circuitFailureThreshold,
    ]) {
      expect(message).toContain(name);
    }
    expect(message).not.toContain(EnvVar.webhooksTable);
  });

  it("has no silent defaults: an empty environment names every variable asked for", () => {
    const message = problemsOf(() => loadConfig(ALL_KEYS, {}));
    for (const key of ALL_KEYS) expect(message).toContain(EnvVar[key]);
  });

  it("reads process.env when no environment is passed", () => {
    const name = EnvVar.webhooksTable;
    const saved = process.env[name];
    process.env[name] = "from-process-env";
    try {
      expect(loadConfig(["webhooksTable"])).toEqual({ webhooksTable: "from-process-env" });
    } finally {
      if (saved === undefined) delete process.env[name];
      else process.env[name] = saved;
    }
  });

  describe("ranges", () => {
    const load = (name: string, value: string) =>
      loadConfig(["deliveryTimeoutSeconds", "circuitFailureThreshold", "retrySchedule", "endpointPolicy"], {
        ...VALID,
        [name]: value,
      });

    it.each(["1", "30"])("accepts an attempt timeout of %s s", (value) => {
      expect(load(EnvVar.deliveryTimeoutSeconds, value).deliveryTimeoutSeconds).toBe(Number(value));
    });

    it.each(["0", "31", "45", "2.5", "ten"])("refuses an attempt timeout of %s", (value) => {
      expect(problemsOf(() => load(EnvVar.deliveryTimeoutSeconds, value))).toContain(
        EnvVar.deliveryTimeoutSeconds,
      );
    });

    it("accepts a circuit threshold of 1 and refuses 0", () => {
      expect(load(EnvVar.circuitFailureThreshold, "1").circuitFailureThreshold).toBe(1);
      expect(problemsOf(() => load(EnvVar.circuitFailureThreshold, "0"))).toContain(
        EnvVar.circuitFailureThreshold,
      );
    });

    it("refuses a retry schedule that is not comma-separated whole seconds", () => {
      const message = problemsOf(() => load(EnvVar.retrySchedule, "[1,5,30]"));
      expect(message).toContain(EnvVar.retrySchedule);
      expect(message).toContain("expected comma-separated whole seconds");
      expect(problemsOf(() => load(EnvVar.retrySchedule, "1,5,1.5"))).toContain('found "1.5"');
    });

    it("refuses a retry schedule with bad delays, naming each one", () => {
      const message = problemsOf(() => load(EnvVar.retrySchedule, "0,5,0"));
      expect(message).toContain("retry_schedule_seconds[0]");
      expect(message).toContain("retry_schedule_seconds[2]");
      expect(message).not.toContain("retry_schedule_seconds[1]");
      expect(problemsOf(() => load(EnvVar.retrySchedule, ""))).toContain("found an empty entry");
    });

    it.each([
      ["not JSON", "{allowInsecureHttp"],
      ["a missing field", JSON.stringify({ allowInsecureHttp: false, allowPrivateTargets: false })],
      ["a port out of range", JSON.stringify({ ...POLICY, allowedPorts: [70_000] })],
      ["a wrong type", JSON.stringify({ ...POLICY, allowInsecureHttp: "no" })],
    ])("refuses an endpoint policy with %s", (_case, value) => {
      expect(problemsOf(() => load(EnvVar.endpointPolicy, value))).toContain(EnvVar.endpointPolicy);
    });

    it("accepts an endpoint policy that allows any port", () => {
      const policy = { ...POLICY, allowedPorts: "any", allowlistPattern: "^https://" };
      expect(load(EnvVar.endpointPolicy, JSON.stringify(policy)).endpointPolicy).toEqual(policy);
    });
  });
});
