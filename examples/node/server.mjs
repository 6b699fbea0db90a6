// A Standard Webhooks receiver for Hookline, in Node.js with the `standardwebhooks` library.
//
//   npm install standardwebhooks
//   PORT=4000 WEBHOOK_SECRET=whsec_... node server.mjs
//
// Prints one line per verified event and answers 200; answers 400 when a webhook header is missing or
// malformed, and 401 when no signature matches or the timestamp is more than 5 minutes away from now.
import { createServer } from "node:http";
import { Webhook, WebhookVerificationError } from "standardwebhooks";

const MAX_BODY_BYTES = 1024 * 1024;

const secret = process.env.WEBHOOK_SECRET;
if (!secret) {
  console.error("receiver: set WEBHOOK_SECRET to the webhook's whsec_... secret");
  process.exit(1);
}
// Checks the signature (any `v1` entry of the header may match, for secret rotation), in constant time,
// and that the timestamp is within 5 minutes of now, either way.
const webhook = new Webhook(secret);
const host = process.env.HOST ?? "127.0.0.1";
const port = Number(process.env.PORT ?? 4000);

function answer(response, status, text) {
  if (status >= 300) console.error(`rejected (${status}): ${text}`);
  response.writeHead(status, { "content-type": "text/plain" }).end(text);
}

const server = createServer((request, response) => {
  if (request.method !== "POST") return answer(response, 405, "POST only");
  const chunks = [];
  let size = 0;
  request.on("data", (chunk) => {
    size += chunk.length;
    if (size <= MAX_BODY_BYTES) chunks.push(chunk);
  });
  request.on("end", () => {
    if (size > MAX_BODY_BYTES) return answer(response, 413, "body too large");
    // Verify the exact bytes that arrived: a parsed and re-serialized body would not match.
    const rawBody = Buffer.concat(chunks);
    const headers = {
      "webhook-id": request.headers["webhook-id"],
      "webhook-timestamp": request.headers["webhook-timestamp"],
      "webhook-signature": request.headers["webhook-signature"],
    };
    if (
      !headers["webhook-id"] ||
      !headers["webhook-signature"] ||
      !/^\d+$/.test(headers["webhook-timestamp"] ?? "")
    ) {
      return answer(response, 400, "missing or malformed webhook-id, webhook-timestamp or webhook-signature");
    }
    let event;
    try {
      event = webhook.verify(rawBody, headers); // throws unless genuine and fresh; returns the parsed body
    } catch (error) {
      if (error instanceof WebhookVerificationError) return answer(response, 401, error.message);
      return answer(response, 400, "body is not JSON");
    }
    if (typeof event !== "object" || event === null)
      return answer(response, 400, "body is not a JSON object");
    // webhook-id is the same on every retry of a delivery: de-duplicate on it before acting.
    console.log(`verified ${event.type} event ${event.id} (webhook-id ${headers["webhook-id"]})`);
    answer(response, 200, "ok");
  });
});

server.listen(port, host, () => {
  console.log(`receiver listening on http://${host}:${server.address().port}/`);
});
process.on("SIGINT", () => server.close(() => process.exit(0)));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
