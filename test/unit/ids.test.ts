import { describe, expect, it } from "vitest";
import { deliveryIdFor, newEventId, newWebhookId } from "../../functions/domain/ids.ts";

describe("ids", () => {
  it("derives the same delivery id for the same event and webhook, and different ones otherwise", () => {
    const at = new Date("2026-01-01T00:00:00Z");
    expect(deliveryIdFor(at, "evt_1", "wh_1")).toBe(deliveryIdFor(at, "evt_1", "wh_1"));
    expect(deliveryIdFor(at, "evt_1", "wh_1")).not.toBe(deliveryIdFor(at, "evt_1", "wh_2"));
    expect(deliveryIdFor(at, "evt_1", "wh_1")).not.toBe(deliveryIdFor(at, "evt_2", "wh_1"));
    expect(deliveryIdFor(at, "evt_1", "wh_1")).toMatch(/^msg_[0-9A-HJKMNP-TV-Z]{26}$/);
  });

  it("sorts delivery ids by the time their event was accepted", () => {
    const earlier = deliveryIdFor(new Date("2026-01-01T00:00:00Z"), "evt_z", "wh_z");
    const later = deliveryIdFor(new Date("2026-01-01T00:00:01Z"), "evt_a", "wh_a");
    expect([later, earlier].sort()).toEqual([earlier, later]);
  });

  it("prefixes generated ids by kind", () => {
    expect(newWebhookId(new Date())).toMatch(/^wh_/);
    expect(newEventId(new Date())).toMatch(/^evt_/);
  });
});
