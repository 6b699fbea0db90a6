import { describe, expect, it } from "vitest";
import { createHooklineClient } from "../../client/index.ts";

/** A fetch that records each request and answers as told, so the client's requests can be read. */
function recordingFetch(status: number, body: unknown) {
  const requests: Request[] = [];
  const fetch = async (request: Request) => {
    requests.push(request);
    return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
  };
  return { requests, fetch };
}

describe("createHooklineClient", () => {
  it("sends the key as a bearer token, fills in path parameters and encodes the query", async () => {
    const page = { data: [], next_cursor: null };
    const { requests, fetch } = recordingFetch(200, page);
    const hookline = createHooklineClient({ baseUrl: "https://api.example.test", apiKey: "hk_key", fetch });

    const { data } = await hookline.GET("/v1/webhooks/{webhookId}/deliveries", {
      params: { path: { webhookId: "wh_1" }, query: { status: "failed", since: "2026-01-01T00:00:00Z" } },
    });

    expect(data).toEqual(page);
    const [request] = requests;
    expect(request?.method).toBe("GET");
    expect(request?.url).toBe(
      "https://api.example.test/v1/webhooks/wh_1/deliveries?status=failed&since=2026-01-01T00%3A00%3A00Z",
    );
    expect(request?.headers.get("authorization")).toBe("Bearer hk_key");
  });

  it("sends a body as JSON and hands back the API's error shape", async () => {
    const refusal = { error: { code: "validation_error", message: "type: required", details: [] } };
    const { requests, fetch } = recordingFetch(400, refusal);
    const hookline = createHooklineClient({ baseUrl: "https://api.example.test", apiKey: "hk_key", fetch });

    const { data, error, response } = await hookline.POST("/v1/events", {
      body: { type: "memory.created", data: { memory_id: "m_1" } },
    });

    expect(data).toBeUndefined();
    expect(error).toEqual(refusal);
    expect(response.status).toBe(400);
    expect(requests[0]?.headers.get("content-type")).toBe("application/json");
    expect(await requests[0]?.json()).toEqual({ type: "memory.created", data: { memory_id: "m_1" } });
  });

  it("sends no Authorization header without a key (the health check and the document need none)", async () => {
    const { requests, fetch } = recordingFetch(200, { status: "ok" });
    const hookline = createHooklineClient({ baseUrl: "https://api.example.test", fetch });

    await hookline.GET("/v1/health");

    expect(requests[0]?.headers.has("authorization")).toBe(false);
  });
});
