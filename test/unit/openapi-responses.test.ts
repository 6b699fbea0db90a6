import { describe, expect, it } from "vitest";
import { openApiDocument } from "../../functions/api/openapi.ts";
import { type OpenApiDocument, responseChecker } from "../support/openapi-responses.ts";

// As the e2e suite reads it: the JSON that GET /v1/openapi.json serves.
const problems = responseChecker(JSON.parse(JSON.stringify(openApiDocument("test"))) as OpenApiDocument);

const webhook = {
  id: "wh_1",
  url: "https://receiver.example/hook",
  event_types: ["memory.created"],
  description: "",
  active: true,
  disabled_reason: null,
  retry_schedule_seconds: null,
  headers: {},
  timeout_seconds: null,
  rate_limit_per_second: null,
  metadata: { team: "core" },
  filter: null,
  ordering: "none",
  circuit_state: "closed",
  circuit_opened_at: null,
  created_at: "2026-11-25T12:00:00.000Z",
  updated_at: "2026-11-25T12:00:00.000Z",
};
const notFound = { error: { code: "not_found", message: "no such webhook", details: [] } };

describe("the OpenAPI response check", () => {
  it("accepts an answer the document describes, matching the path template", () => {
    expect(problems("GET", "/v1/webhooks/wh_1", 200, webhook)).toEqual([]);
    expect(problems("GET", "/v1/webhooks?limit=1", 200, { data: [webhook], next_cursor: null })).toEqual([]);
    expect(problems("DELETE", "/v1/webhooks/wh_1", 204, undefined)).toEqual([]);
  });

  it("rejects a body that does not fit the response's schema", () => {
    const { circuit_state: _state, ...withoutCircuit } = webhook;
    expect(problems("GET", "/v1/webhooks/wh_1", 200, { ...webhook, active: "yes" })).toEqual([
      "GET /v1/webhooks/{webhookId} 200: body/active must be boolean",
    ]);
    expect(problems("GET", "/v1/webhooks/wh_1", 200, withoutCircuit)).toEqual([
      "GET /v1/webhooks/{webhookId} 200: body must have required property 'circuit_state'",
    ]);
    expect(problems("GET", "/v1/webhooks/wh_1", 200, "not json")).toHaveLength(1);
  });

  it("rejects a property the document does not name", () => {
    expect(problems("GET", "/v1/webhooks/wh_1", 200, { ...webhook, secret: "whsec_x" })).toEqual([
      'GET /v1/webhooks/{webhookId} 200: body must NOT have additional properties ({"additionalProperty":"secret"})',
    ]);
  });

  it("rejects a status the operation does not list", () => {
    expect(problems("GET", "/v1/webhooks/wh_1", 418, notFound)).toEqual([
      expect.stringMatching(/^GET \/v1\/webhooks\/\{webhookId\} answered 418; the document lists only /),
    ]);
  });

  it("accepts a refused key (in the error shape, or API Gateway's without a key) only on routes that need one", () => {
    expect(problems("GET", "/v1/webhooks/wh_1", 401, { message: "Unauthorized" })).toEqual([]);
    const invalidKey = { error: { code: "invalid_api_key", message: "the API key is unknown", details: [] } };
    expect(problems("GET", "/v1/webhooks/wh_1", 401, invalidKey)).toEqual([]);
    expect(problems("POST", "/v1/events", 401, invalidKey)).toEqual([]);
    expect(problems("GET", "/v1/webhooks/wh_1", 403, { message: "Forbidden" })).not.toEqual([]);
    // A portal link's token beyond its scope: the error shape, on routes that take a key only.
    const forbidden = { error: { code: "forbidden", message: "the portal link is read-only", details: [] } };
    expect(problems("GET", "/v1/webhooks/wh_1", 403, forbidden)).toEqual([]);
    expect(problems("GET", "/v1/health", 403, forbidden)).toHaveLength(1);
    expect(problems("GET", "/v1/health", 401, { message: "Unauthorized" })).toHaveLength(1);
  });

  it("rejects a body where the document describes none", () => {
    expect(problems("DELETE", "/v1/webhooks/wh_1", 204, { deleted: true })).toHaveLength(1);
  });

  it("lets a request no operation takes answer only a 404 or 405 in the document's error shape", () => {
    expect(problems("GET", "/v1/nothing-here", 404, notFound)).toEqual([]);
    expect(problems("PUT", "/v1/webhooks", 405, notFound)).toEqual([]);
    expect(problems("GET", "/v1/nothing-here", 200, {})).toHaveLength(1);
    expect(problems("GET", "/v1/nothing-here", 404, { message: "Not Found" })).not.toEqual([]);
  });
});
