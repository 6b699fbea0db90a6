import { CloudWatchLogsClient, FilterLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { cloudWatchLogLines, deliveryFilterPattern } from "../../bin/cli/tail.ts";
import { formatTailRow, matchesFilter, tailHeader, tailRowFromLogLine } from "../../bin/cli/tail-rows.ts";

const logLine = (fields: Record<string, unknown>) =>
  JSON.stringify({
    level: "INFO",
    timestamp: "2026-03-01T12:34:56.789Z",
    service: "hookline",
    tenant_id: "acme",
    webhook_id: "wh_01KAAAAAAAAAAAAAAAAAAAAAAA",
    delivery_id: "msg_01KBBBBBBBBBBBBBBBBBBBBBBB",
    event_id: "evt_1",
    attempt: 1,
    ...fields,
  });

describe("tail rows from the delivery function's log lines", () => {
  it("reads a delivered step with its attempt, status code and duration", () => {
    const row = tailRowFromLogLine(
      logLine({ message: "delivery delivered", step: "delivered", status_code: 200, duration_ms: 41 }),
    );
    expect(row).toEqual({
      time: "2026-03-01T12:34:56.789Z",
      status: "delivered",
      tenant_id: "acme",
      webhook_id: "wh_01KAAAAAAAAAAAAAAAAAAAAAAA",
      delivery_id: "msg_01KBBBBBBBBBBBBBBBBBBBBBBB",
      event_id: "evt_1",
      attempt: 1,
      status_code: 200,
      duration_ms: 41,
      error: null,
    });
  });

  it("reads each step the delivery function logs, with the error or the failure's reason", () => {
    for (const step of ["delivered", "retry", "failed", "dead_letter", "parked", "deferred"]) {
      expect(tailRowFromLogLine(logLine({ message: `delivery ${step}` }))?.status).toBe(step);
    }
    expect(tailRowFromLogLine(logLine({ message: "delivery retry", error: "HTTP 503" }))?.error).toBe(
      "HTTP 503",
    );
    expect(
      tailRowFromLogLine(logLine({ message: "delivery failed", reason: "webhook_deleted" }))?.error,
    ).toBe("webhook_deleted");
  });

  it("ignores every other line", () => {
    for (const line of [
      "",
      "START RequestId: 1",
      "{not json",
      "[1,2]",
      logLine({ message: "delivery step already recorded by another process" }),
      logLine({ message: "circuit opened" }),
      JSON.stringify({ _aws: { CloudWatchMetrics: [] }, message: "delivery x" }),
    ]) {
      expect(tailRowFromLogLine(line)).toBeUndefined();
    }
  });

  it("uses the time the line was received when the line has none", () => {
    const line = JSON.stringify({ message: "delivery delivered" });
    expect(tailRowFromLogLine(line, "2026-03-01T00:00:00.000Z")?.time).toBe("2026-03-01T00:00:00.000Z");
  });

  it("filters by tenant and webhook", () => {
    const row = tailRowFromLogLine(logLine({ message: "delivery delivered" }));
    if (!row) throw new Error("no row");
    expect(matchesFilter(row, {})).toBe(true);
    expect(matchesFilter(row, { tenantId: "acme", webhookId: "wh_01KAAAAAAAAAAAAAAAAAAAAAAA" })).toBe(true);
    expect(matchesFilter(row, { tenantId: "other" })).toBe(false);
    expect(matchesFilter(row, { webhookId: "wh_other" })).toBe(false);
  });

  it("prints rows in fixed columns under the header", () => {
    const row = tailRowFromLogLine(
      logLine({
        message: "delivery retry",
        attempt: 2,
        status_code: 503,
        duration_ms: 12.6,
        error: "HTTP 503",
      }),
    );
    if (!row) throw new Error("no row");
    const printed = formatTailRow(row);
    const header = tailHeader();
    expect(printed).toBe(
      "12:34:56.789  retry        2        503   13 ms     msg_01KBBBBBBBBBBBBBBBBBBBBBBB  wh_01KAAAAAAAAAAAAAAAAAAAAAAA  HTTP 503",
    );
    for (const title of ["STATUS", "CODE", "DELIVERY", "WEBHOOK", "ERROR"]) {
      expect(header.indexOf(title)).toBe(printed.indexOf(printed.slice(header.indexOf(title)).trimStart()));
    }
  });
});

describe("following a deployed delivery function's log group", () => {
  const logs = mockClient(CloudWatchLogsClient);
  afterEach(() => logs.reset());

  it("keeps only delivery steps of the tenant and webhook asked for", () => {
    expect(deliveryFilterPattern({})).toBe('{ ($.message = "delivery *") }');
    expect(deliveryFilterPattern({ tenantId: "acme", webhookId: "wh_1" })).toBe(
      '{ ($.message = "delivery *") && ($.tenant_id = "acme") && ($.webhook_id = "wh_1") }',
    );
  });

  it("pages, asks again from a while before the newest event, and yields each event once", async () => {
    // Prepare: the first poll has two pages; the second returns B again, a late A2 older than B, and C.
    logs
      .on(FilterLogEventsCommand)
      .resolvesOnce({ events: [{ eventId: "a", timestamp: 1_000, message: "A" }], nextToken: "t" })
      .resolvesOnce({ events: [{ eventId: "b", timestamp: 5_000, message: "B" }] })
      .resolvesOnce({
        events: [
          { eventId: "a2", timestamp: 4_500, message: "A2" },
          { eventId: "b", timestamp: 5_000, message: "B" },
          { eventId: "c", timestamp: 6_000, message: "C" },
        ],
      })
      .resolves({ events: [{ eventId: "c", timestamp: 6_000, message: "C" }] });
    const stop = new AbortController();
    const client = new CloudWatchLogsClient({ region: "us-east-1" });

    // Act
    const seen: string[] = [];
    const lines = cloudWatchLogLines(client, "/aws/lambda/delivery", { tenantId: "acme" }, stop.signal, {
      startTime: 500,
      intervalMs: 1,
      lateArrivalMs: 1_000,
    });
    for await (const { line, at } of lines) {
      seen.push(`${line}@${at.slice(17, 23)}`);
      if (seen.length === 4) stop.abort();
    }

    // Assess
    expect(seen).toEqual(["A@01.000", "B@05.000", "A2@04.500", "C@06.000"]);
    const calls = logs.commandCalls(FilterLogEventsCommand).map((call) => call.args[0].input);
    expect(calls[0]).toMatchObject({
      logGroupName: "/aws/lambda/delivery",
      startTime: 500,
      filterPattern: deliveryFilterPattern({ tenantId: "acme" }),
    });
    expect(calls[1]).toMatchObject({ startTime: 500, nextToken: "t" });
    expect(calls[2]).toMatchObject({ startTime: 4_000 });
    expect(calls[2]?.nextToken).toBeUndefined();
  });
});
