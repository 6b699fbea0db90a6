import { describe, expect, it } from "vitest";
import { describeIngestDeadLetter, ingestDeadLetterTable, redriveEntry } from "../../bin/cli/ingest-dlq.ts";

const event = {
  version: "0",
  id: "6f1c-eb",
  source: "hookline.publisher",
  "detail-type": "memory.created",
  detail: { tenant_id: "acme", data: { memory_id: "m_1" } },
};

describe("describeIngestDeadLetter", () => {
  it("reads Lambda's on-failure record: the event, the condition and the error", () => {
    const record = {
      version: "1.0",
      requestContext: { condition: "RetriesExhausted", approximateInvokeCount: 3 },
      requestPayload: event,
      responsePayload: { errorType: "ValidationError", errorMessage: "tenant_id must be 1-128 characters" },
    };
    expect(describeIngestDeadLetter("m1", JSON.stringify(record))).toEqual({
      message_id: "m1",
      condition: "RetriesExhausted",
      reason: "ValidationError: tenant_id must be 1-128 characters",
      event: {
        id: event.id,
        source: event.source,
        "detail-type": event["detail-type"],
        detail: event.detail,
      },
    });
  });

  it("reads an event EventBridge could not hand over, with the reason from its attributes", () => {
    const described = describeIngestDeadLetter("m2", JSON.stringify(event), {
      ERROR_CODE: { DataType: "String", StringValue: "RESOURCE_NOT_FOUND" },
      ERROR_MESSAGE: { DataType: "String", StringValue: "Function does not exist" },
    });
    expect(described).toMatchObject({
      condition: "RESOURCE_NOT_FOUND",
      reason: "Function does not exist",
      event: { id: event.id },
    });
  });

  it("keeps anything else as its body, for a person to look at", () => {
    expect(describeIngestDeadLetter("m3", "not json")).toEqual({ message_id: "m3", body: "not json" });
    expect(ingestDeadLetterTable([describeIngestDeadLetter("m3", "not json")]).join("\n")).toContain(
      "not json",
    );
  });
});

describe("redriveEntry", () => {
  it("keeps the idempotency key ingest used the first time", () => {
    expect(JSON.parse(redriveEntry(event, "bus").Detail)).toEqual({ ...event.detail, id: "evt_eb_6f1c-eb" });
    const withId = { ...event, detail: { ...event.detail, id: "order-7" } };
    expect(redriveEntry(withId, "bus")).toMatchObject({
      EventBusName: "bus",
      Source: "hookline.publisher",
      DetailType: "memory.created",
    });
    expect(JSON.parse(redriveEntry(withId, "bus").Detail).id).toBe("order-7");
  });
});
