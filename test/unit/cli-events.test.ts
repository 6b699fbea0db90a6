import { describe, expect, it } from "vitest";
import { unknownTypeMessage } from "../../bin/cli/events.ts";
import { DEFAULT_EVENT_TYPES } from "../../functions/shared/event-catalogue.ts";

const known = DEFAULT_EVENT_TYPES.map((type) => type.name);

describe("the CLI's answer to an unknown event type", () => {
  it("suggests the known type a typo was meant to be, and lists the catalogue", () => {
    const [first, second] = unknownTypeMessage("memory.craeted", known).split("\n");

    expect(first).toBe('unknown event type "memory.craeted"; did you mean memory.created?');
    expect(second).toBe(`the stack's event types: ${known.join(", ")}`);
  });

  it("picks the nearest of several similar types", () => {
    expect(unknownTypeMessage("quota.exceed", known)).toContain("did you mean quota.exceeded?");
    expect(unknownTypeMessage("session.end", known)).toContain("did you mean session.ended?");
  });

  it("suggests nothing for a name that resembles no type, but still lists them all", () => {
    const message = unknownTypeMessage("invoice.paid", known);

    expect(message).not.toContain("did you mean");
    expect(message).toContain("sync.failed");
  });
});
