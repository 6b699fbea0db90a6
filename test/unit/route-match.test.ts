import { describe, expect, it } from "vitest";
import { allowedMethods } from "../../functions/api/route-match.ts";
import { IngestRoute, ManagementRoute, PublicRoute } from "../../functions/shared/names.ts";

const routes = [
  ...Object.values(ManagementRoute),
  ...Object.values(IngestRoute),
  ...Object.values(PublicRoute),
];

describe("methods a path allows (for 404 and 405)", () => {
  it("lists every method of a known path, parameters matching any segment", () => {
    expect(allowedMethods(routes, "/v1/webhooks")).toEqual(["GET", "POST"]);
    expect(allowedMethods(routes, "/v1/webhooks/wh_1")).toEqual(["DELETE", "GET", "PATCH"]);
    expect(allowedMethods(routes, "/v1/webhooks/wh_1/deliveries/msg_1/retry")).toEqual(["POST"]);
    expect(allowedMethods(routes, "/v1/health/")).toEqual(["GET"]);
  });

  it("finds nothing for an unknown path", () => {
    expect(allowedMethods(routes, "/v1/nope")).toEqual([]);
    expect(allowedMethods(routes, "/v1/webhooks/wh_1/extra/segments/here/too")).toEqual([]);
    expect(allowedMethods(routes, "/")).toEqual([]);
  });
});
