import { describe, expect, it } from "vitest";
import {
  attemptLine,
  EXPIRES_KEY,
  isAbandoned,
  TEMPORARY_KEY,
  temporaryMetadata,
} from "../../bin/cli/listen.ts";

const NOW = new Date("2026-11-25T10:00:00.000Z");
const attempt = {
  attempt: 1,
  at: "2026-11-25T10:00:00.000Z",
  status_code: 200,
  duration_ms: 34,
  error: null,
  response_body: "ok",
};
const delivery = { event_type: "memory.created", event_id: "evt_01K" };

describe("listen's temporary webhooks", () => {
  it("are marked with an expiry a few minutes ahead, and kept until it passes", () => {
    const metadata = temporaryMetadata(NOW);
    expect(metadata[TEMPORARY_KEY]).toBe("temporary");
    expect(isAbandoned({ metadata }, NOW)).toBe(false);
    expect(isAbandoned({ metadata }, new Date(Date.parse(metadata[EXPIRES_KEY] ?? "")))).toBe(true);
  });

  it("never take a webhook listen did not make, and treat a mangled expiry as passed", () => {
    expect(isAbandoned({ metadata: { [EXPIRES_KEY]: "2000-01-01T00:00:00Z" } }, NOW)).toBe(false);
    expect(isAbandoned({ metadata: { team: "core" } }, NOW)).toBe(false);
    expect(isAbandoned({ metadata: { [TEMPORARY_KEY]: "temporary", [EXPIRES_KEY]: "soon" } }, NOW)).toBe(
      true,
    );
  });
});

describe("listen's attempt lines", () => {
  it("read as type, event, status and duration", () => {
    expect(attemptLine(delivery, attempt)).toBe("→ memory.created evt_01K 200 34 ms");
  });

  it("name a retry's attempt, and say why an attempt without an answer failed", () => {
    expect(
      attemptLine(delivery, {
        ...attempt,
        attempt: 2,
        status_code: null,
        duration_ms: 2003,
        error: "timed out",
      }),
    ).toBe("→ memory.created evt_01K --- 2.0 s (attempt 2)  timed out");
  });
});
