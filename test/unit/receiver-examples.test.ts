import { spawnSync } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  freePort,
  pythonExampleDir,
  type RunningExample,
  receiverExamples,
  requirePython3,
  startExample,
} from "../support/examples.ts";
import { eventually } from "../support/receiver.ts";

// The known-answer vector from the Standard Webhooks reference library's tests (see STYLE.md).
const KNOWN = {
  secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
};

/** Signs as the spec says, independently of any library: HMAC-SHA256 of `id.timestamp.body`. */
function sign(secret: string, id: string, timestamp: number, body: string): string {
  const key = Buffer.from(secret.slice("whsec_".length), "base64");
  return `v1,${createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest("base64")}`;
}

const otherSecret = `whsec_${randomBytes(32).toString("base64")}`;

describe("the signing the examples are checked against", () => {
  it("reproduces the known-answer vector, as standardwebhooks does", () => {
    expect(sign(KNOWN.secret, KNOWN.id, KNOWN.timestamp, KNOWN.body)).toBe(KNOWN.signature);
    expect(new Webhook(KNOWN.secret).sign(KNOWN.id, new Date(KNOWN.timestamp * 1000), KNOWN.body)).toBe(
      KNOWN.signature,
    );
  });

  it("the Python example signs and verifies the known-answer vector at its own time, and not 5 min later", () => {
    requirePython3();
    const script = `
import receiver
key = receiver.decode_secret(${JSON.stringify(KNOWN.secret)})
body = ${JSON.stringify(KNOWN.body)}.encode()
headers = {"webhook-id": ${JSON.stringify(KNOWN.id)}, "webhook-timestamp": "${KNOWN.timestamp}",
           "webhook-signature": ${JSON.stringify(KNOWN.signature)}}
print(receiver.sign(key, headers["webhook-id"], ${KNOWN.timestamp}, body))
receiver.verify(key, headers, body, now=${KNOWN.timestamp})
print("verified")
try:
    receiver.verify(key, headers, body, now=${KNOWN.timestamp + 301})
    print("accepted stale")
except receiver.VerificationError as error:
    print("stale:", error)
`;
    const result = spawnSync("python3", ["-c", script], { cwd: pythonExampleDir, encoding: "utf8" });
    expect(result.stderr).toBe("");
    expect(result.stdout.trim().split("\n")).toEqual([
      KNOWN.signature,
      "verified",
      "stale: timestamp too old",
    ]);
  });
});

interface Case {
  readonly name: string;
  readonly expected: number;
  /** The request, given the current unix time and a unique event id. */
  readonly build: (now: number, eventId: string) => { headers: Record<string, string>; body: string };
}

function delivery(eventId: string): string {
  return JSON.stringify({
    id: eventId,
    type: "memory.created",
    timestamp: new Date().toISOString(),
    data: { memory_id: "m_1", text: "héllo ✓" },
  });
}

function signed(
  body: string,
  timestamp: number,
  signature = sign(KNOWN.secret, "msg_unit", timestamp, body),
): { headers: Record<string, string>; body: string } {
  return {
    body,
    headers: {
      "webhook-id": "msg_unit",
      "webhook-timestamp": String(timestamp),
      "webhook-signature": signature,
    },
  };
}

function without(name: string, request: { headers: Record<string, string>; body: string }) {
  const { [name]: _dropped, ...headers } = request.headers;
  return { ...request, headers };
}

const cases: readonly Case[] = [
  {
    name: "the known-answer vector's id and body, signed now by standardwebhooks",
    expected: 200,
    build: (now) => ({
      body: KNOWN.body,
      headers: {
        "webhook-id": KNOWN.id,
        "webhook-timestamp": String(now),
        "webhook-signature": new Webhook(KNOWN.secret).sign(KNOWN.id, new Date(now * 1000), KNOWN.body),
      },
    }),
  },
  { name: "a delivery signed by hand", expected: 200, build: (now, id) => signed(delivery(id), now) },
  { name: "a timestamp 4 minutes old", expected: 200, build: (now, id) => signed(delivery(id), now - 240) },
  {
    name: "a tampered body",
    expected: 401,
    build: (now, id) => {
      const request = signed(delivery(id), now);
      return { ...request, body: request.body.replace("m_1", "m_2") };
    },
  },
  {
    name: "a signature made with another secret",
    expected: 401,
    build: (now, id) => signed(delivery(id), now, sign(otherSecret, "msg_unit", now, delivery(id))),
  },
  { name: "a timestamp 6 minutes old", expected: 401, build: (now, id) => signed(delivery(id), now - 360) },
  {
    name: "a timestamp 6 minutes in the future",
    expected: 401,
    build: (now, id) => signed(delivery(id), now + 360),
  },
  {
    name: "no webhook-signature header",
    expected: 400,
    build: (now, id) => without("webhook-signature", signed(delivery(id), now)),
  },
  {
    name: "no webhook-timestamp header",
    expected: 400,
    build: (now, id) => without("webhook-timestamp", signed(delivery(id), now)),
  },
  {
    name: "no webhook-id header",
    expected: 400,
    build: (now, id) => without("webhook-id", signed(delivery(id), now)),
  },
  {
    name: "two signatures (rotation) of which only the second is valid",
    expected: 200,
    build: (now, id) => {
      const body = delivery(id);
      const both = `${sign(otherSecret, "msg_unit", now, body)} ${sign(KNOWN.secret, "msg_unit", now, body)}`;
      return signed(body, now, both);
    },
  },
  {
    name: "two signatures of which neither is valid",
    expected: 401,
    build: (now, id) => {
      const body = delivery(id);
      return signed(body, now, `${sign(otherSecret, "msg_unit", now, body)} v1,bm90IGEgc2lnbmF0dXJl`);
    },
  },
  {
    name: "the valid signature under another version than v1",
    expected: 401,
    build: (now, id) => {
      const body = delivery(id);
      return signed(body, now, sign(KNOWN.secret, "msg_unit", now, body).replace(/^v1,/, "v1a,"));
    },
  },
];

describe.each(receiverExamples)("examples/$name", (example) => {
  let running: RunningExample;

  beforeAll(async () => {
    running = await startExample(example, { port: await freePort(), secret: KNOWN.secret });
  });
  afterAll(async () => {
    await running?.stop();
  });

  it.each(cases)("answers $expected to $name", async ({ expected, build }) => {
    const eventId = `evt_${example.name}_${randomBytes(6).toString("hex")}`;
    const request = build(Math.floor(Date.now() / 1000), eventId);
    const response = await fetch(running.url, {
      method: "POST",
      headers: { "content-type": "application/json", ...request.headers },
      body: request.body,
    });
    expect(response.status, `${running.stdout}${running.stderr}`).toBe(expected);
    if (expected === 200 && request.body.includes(eventId)) {
      const line = await eventually("the example to print the verified event", () =>
        running.lines().find((printed) => printed.includes(eventId)),
      );
      expect(line).toBe(`verified memory.created event ${eventId} (webhook-id msg_unit)`);
    } else {
      expect(running.stdout).not.toContain(eventId);
    }
  });
});
