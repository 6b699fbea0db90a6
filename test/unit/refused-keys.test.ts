import middy from "@middy/core";
import type { Context } from "aws-lambda";
import { describe, expect, it } from "vitest";
import {
  type ApiEvent,
  type ApiResult,
  type AuthorizerContext,
  callerOf,
  httpErrors,
  json,
  refuseInvalidKeys,
  tenantOf,
} from "../../functions/http/http.ts";

function eventWith(lambda: AuthorizerContext | undefined, body?: string): ApiEvent {
  return {
    version: "2.0",
    routeKey: "POST /v1/events",
    rawPath: "/v1/events",
    rawQueryString: "",
    headers: { "content-type": "application/json" },
    isBase64Encoded: false,
    ...(body === undefined ? {} : { body }),
    requestContext: {
      http: {
        method: "POST",
        path: "/v1/events",
        protocol: "HTTP/1.1",
        sourceIp: "127.0.0.1",
        userAgent: "t",
      },
      ...(lambda === undefined ? {} : { authorizer: { lambda } }),
    },
  } as unknown as ApiEvent;
}

describe("a key the authorizer refused", () => {
  const calls: string[] = [];
  const handler = middy<ApiEvent, ApiResult>(async (event: ApiEvent) => {
    calls.push(tenantOf(event));
    return json(200, { ok: true });
  })
    .use(refuseInvalidKeys())
    .use(httpErrors());

  it("is answered 401 invalid_api_key in the API's error shape, before the route runs", async () => {
    const response = await handler(eventWith({ refused: "invalid_api_key" }, '{"broken": '), {} as Context);
    expect(response.statusCode).toBe(401);
    expect(JSON.parse(String(response.body))).toEqual({
      error: { code: "invalid_api_key", message: expect.stringContaining("API key"), details: [] },
    });
    expect(calls).toEqual([]);
  });

  it("lets a known key's tenant through", async () => {
    const response = await handler(eventWith({ tenantId: "t1" }), {} as Context);
    expect(response.statusCode).toBe(200);
    expect(calls).toEqual(["t1"]);
  });

  it("is never taken for a tenant, even where the check was not installed", async () => {
    const bare = middy<ApiEvent, ApiResult>(async (event: ApiEvent) =>
      json(200, { tenant: tenantOf(event) }),
    ).use(httpErrors());
    const response = await bare(eventWith({ refused: "invalid_api_key" }), {} as Context);
    expect(response.statusCode).toBe(401);
  });
});

describe("a portal link's token", () => {
  const scope = { tenantId: "t1", webhookIds: ["wh_1"], readOnly: true, expiresAt: 4_102_444_800 };
  const portal = { tenantId: "t1", portalScope: JSON.stringify(scope) };

  it("is refused 403 by a route that takes API keys only (publishing, here)", async () => {
    const bare = middy<ApiEvent, ApiResult>(async (event: ApiEvent) =>
      json(200, { tenant: tenantOf(event) }),
    ).use(httpErrors());
    const response = await bare(eventWith(portal), {} as Context);
    expect(response.statusCode).toBe(403);
    expect(JSON.parse(String(response.body)).error.code).toBe("forbidden");
  });

  it("is read with its scope by the routes that check it", () => {
    expect(callerOf(eventWith(portal))).toEqual({ tenantId: "t1", portal: scope });
    expect(callerOf(eventWith({ tenantId: "t1" }))).toEqual({ tenantId: "t1" });
  });
});
