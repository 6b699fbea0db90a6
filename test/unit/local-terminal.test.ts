import { describe, expect, it } from "vitest";
import type { LogLine } from "../../local/lambda-host.ts";
import { rawLine, readableLine } from "../../local/terminal.ts";

const DELIVERY = "HooklineDeliveryFunctionC67697EE";
const WH = "wh_01M8SB54B3FH5BPGS3F8EHYKTT";
const EVT = "evt_01M8SB5J6EE3HZYZ4HYC0PCGF9";
const AT = "2026-12-01T17:42:33.935Z";
const clockOf = (iso: string) => new Date(iso).toTimeString().slice(0, 8);

/** A line as Powertools Logger writes it in the delivery function, with the delivery's keys. */
function logged(fields: Record<string, unknown>, functionLogicalId = DELIVERY): LogLine {
  const line = JSON.stringify({
    level: "INFO",
    timestamp: AT,
    service: "hookline",
    cold_start: false,
    function_name: functionLogicalId,
    tenant_id: "dev",
    webhook_id: WH,
    delivery_id: "msg_01M8SB5J6EJK74CTBJE583QNRF",
    event_id: EVT,
    ...fields,
  });
  return { functionLogicalId, functionName: functionLogicalId, stream: "stdout", line };
}

const runtime = (line: string): LogLine => ({
  functionLogicalId: DELIVERY,
  functionName: DELIVERY,
  stream: "stderr",
  line,
});

describe("the readable terminal of npm start", () => {
  it("shows a successful attempt as one line with the event, webhook, status and duration", () => {
    const line = logged({
      message: "delivery delivered",
      event_type: "memory.created",
      attempt: 1,
      step: "delivered",
      status_code: 200,
      duration_ms: 34.4,
    });
    expect(readableLine(line)).toBe(`${clockOf(AT)} → memory.created ${EVT} ${WH} 200 34 ms`);
  });

  it("shows a failed attempt with what happens next", () => {
    const retry = logged({
      message: "delivery retry",
      event_type: "memory.created",
      attempt: 1,
      step: "retry",
      retry_in_seconds: 10,
      status_code: 500,
      duration_ms: 12,
      error: "receiver answered HTTP 500",
    });
    expect(readableLine(retry)).toBe(
      `${clockOf(AT)} ✗ memory.created ${EVT} ${WH} 500 12 ms (attempt 1; retry in 10 s)`,
    );
    const timedOut = logged({
      message: "delivery retry",
      event_type: "memory.created",
      attempt: 4,
      retry_in_seconds: 1_800,
      duration_ms: 10_003,
      error: "timed out after 10000 ms",
    });
    expect(readableLine(timedOut)).toContain(
      "--- 10.0 s (attempt 4; retry in 30 min) timed out after 10000 ms",
    );
    expect(
      readableLine(logged({ message: "delivery dead_letter", attempt: 6, status_code: 503, duration_ms: 3 })),
    ).toContain("503 3 ms (attempt 6; schedule spent: dead-lettered)");
    expect(
      readableLine(logged({ message: "delivery failed", attempt: 1, status_code: 422, duration_ms: 3 })),
    ).toContain("422 3 ms (attempt 1; failed, not retried)");
    expect(readableLine(logged({ message: "delivery failed", reason: "webhook_deleted" }))).toBe(
      `${clockOf(AT)} ✗ ${EVT} ${WH} not sent: webhook_deleted`,
    );
  });

  it("marks a probe and a later attempt that succeeded", () => {
    const probe = logged({
      message: "delivery delivered",
      attempt: 3,
      status_code: 200,
      duration_ms: 5,
      probe: true,
    });
    expect(readableLine(probe)).toContain("200 5 ms (probe, attempt 3)");
  });

  it("shows each circuit change and a deactivated webhook", () => {
    const opened = logged({ level: "WARN", message: "circuit opened", cooldown_seconds: 300 });
    expect(readableLine(opened)).toBe(`${clockOf(AT)} circuit ${WH} open (probe in 5 min)`);
    const reopened = logged({
      level: "WARN",
      message: "circuit reopened: the probe failed",
      cooldown_seconds: 3,
    });
    expect(readableLine(reopened)).toBe(
      `${clockOf(AT)} circuit ${WH} open again: the probe failed (probe in 3 s)`,
    );
    const closed = logged({
      message: "circuit closed: the endpoint answered the probe",
      released_deliveries: 39,
    });
    expect(readableLine(closed)).toBe(`${clockOf(AT)} circuit ${WH} closed (39 waiting deliveries released)`);
    const gone = logged({ level: "WARN", message: "webhook deactivated: its endpoint answered 410 Gone" });
    expect(readableLine(gone)).toContain(`webhook ${WH} deactivated: `);
  });

  it("shows a published event with how many deliveries it made", () => {
    const published = logged(
      { message: "event published", event_type: "memory.created", deliveries: 0 },
      "HooklineIngestFunction1A2B3C4D",
    );
    expect(readableLine(published)).toBe(`${clockOf(AT)} ● memory.created ${EVT} published: 0 deliveries`);
  });

  it("shows a function's errors and failed invocations, named without CDK's hash", () => {
    const error = logged({
      level: "ERROR",
      message: "queue message not processed; SQS will deliver it again",
    });
    expect(readableLine(error)).toContain("! HooklineDeliveryFunction: queue message not processed");
    const crashed = runtime(
      `${AT}\tb9998e07\tERROR\tInvoke Error \t{"errorType":"Runtime.ExitError","errorMessage":"exit status 1"}`,
    );
    expect(readableLine(crashed)).toContain(
      "! HooklineDeliveryFunction failed: Runtime.ExitError: exit status 1",
    );
    expect(readableLine(runtime(`${AT} b9998e07 Task timed out after 40.00 seconds`))).toContain(
      "! HooklineDeliveryFunction: timed out after 40.00 seconds",
    );
    const init = runtime("INIT_REPORT Status: error Error Type: Runtime.InitTimeout init took over 10000 ms");
    expect(readableLine(init)).toContain(
      "! HooklineDeliveryFunction: init failed: Runtime.InitTimeout init took over 10000 ms",
    );
  });

  it("leaves out metric lines, routine logs, steps without an attempt and plain text", () => {
    for (const line of [
      logged({ _aws: { CloudWatchMetrics: [] }, DeliveryAttempts: 1, message: undefined }),
      logged({ message: "webhook registered" }),
      logged({ message: "delivery parked", step: "parked" }),
      logged({ message: "delivery deferred", step: "deferred" }),
      logged({ message: "delivery step already recorded; not sent again" }),
      runtime("START RequestId: 1"),
      runtime("{not json"),
    ]) {
      expect(readableLine(line)).toBeUndefined();
    }
  });

  it("writes the raw line with the function's logical id, as the functions log shows it", () => {
    expect(rawLine(runtime("hello"))).toBe(`[${DELIVERY}] hello`);
  });
});
