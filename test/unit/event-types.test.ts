import { describe, expect, it } from "vitest";
import { ValidationError } from "../../functions/domain/errors.ts";
import {
  assertKnownEventType,
  assertValidSubscriptions,
  isSubscribed,
  patternMatches,
} from "../../functions/domain/event-types.ts";
import { DEFAULT_EVENT_TYPES } from "../../functions/shared/event-catalogue.ts";

describe("event-type matching", () => {
  it.each([
    ["memory.created", "memory.created", true],
    ["memory.created", "memory.updated", false],
    ["memory.*", "memory.created", true],
    ["memory.*", "memory.deleted", true],
    ["memory.*", "memoryx.created", false],
    ["memory.*", "session.started", false],
    ["*", "quota.exceeded", true],
    ["quota.*", "quota.warning", true],
    ["memory", "memory.created", false],
  ])("pattern %s vs type %s → %s", (pattern, type, expected) => {
    expect(patternMatches(pattern, type)).toBe(expected);
  });

  it("subscribes a webhook when any of its patterns matches", () => {
    expect(isSubscribed(["session.started", "memory.*"], "memory.updated")).toBe(true);
    expect(isSubscribed(["session.started", "memory.*"], "sync.failed")).toBe(false);
  });

  it("has the 11 event types of the original design by default", () => {
    expect(DEFAULT_EVENT_TYPES.map((type) => type.name)).toEqual([
      "memory.created",
      "memory.updated",
      "memory.deleted",
      "concept.discovered",
      "session.started",
      "session.ended",
      "sync.completed",
      "sync.failed",
      "user.created",
      "quota.warning",
      "quota.exceeded",
    ]);
  });

  it("rejects an unknown event type with the list of valid ones", () => {
    expect(() => assertKnownEventType(DEFAULT_EVENT_TYPES, "memory.exploded")).toThrow(ValidationError);
    expect(() => assertKnownEventType(DEFAULT_EVENT_TYPES, "memory.exploded")).toThrow(/memory\.created/);
    expect(() => assertKnownEventType(DEFAULT_EVENT_TYPES, "memory.created")).not.toThrow();
  });

  it("rejects subscriptions that match nothing, naming each by its position", () => {
    try {
      assertValidSubscriptions(DEFAULT_EVENT_TYPES, ["memory.created", "memroy.*", "nope"]);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).details.map((detail) => detail.path)).toEqual([
        "event_types[1]",
        "event_types[2]",
      ]);
    }
    expect(() =>
      assertValidSubscriptions(DEFAULT_EVENT_TYPES, ["*", "quota.*", "user.created"]),
    ).not.toThrow();
  });
});
