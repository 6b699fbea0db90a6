#!/usr/bin/env node
import { createServer } from "node:http";
import { parseArgs } from "node:util";
import { Webhook } from "standardwebhooks";

/**
 * A webhook receiver for trying Hookline on this machine: prints every request it gets and, given the
 * webhook's secret, whether its Standard Webhooks signature verifies.
 *
 *   npm run receiver -- --port 4000 [--secret whsec_...] [--status 200]
 */
const { values } = parseArgs({
  options: {
    port: { type: "string", default: "4000" },
    secret: { type: "string", default: process.env.HOOKLINE_WEBHOOK_SECRET },
    status: { type: "string", default: "200" },
  },
});
const status = Number(values.status);
const verifier = values.secret ? new Webhook(values.secret) : undefined;

const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on("data", (chunk: Buffer) => chunks.push(chunk));
  request.on("end", () => {
    const body = Buffer.concat(chunks).toString("utf8");
    const header = (name: string) => String(request.headers[name] ?? "");
    let verdict = "signature not checked (pass --secret whsec_... to verify)";
    if (verifier) {
      try {
        verifier.verify(body, {
          "webhook-id": header("webhook-id"),
          "webhook-timestamp": header("webhook-timestamp"),
          "webhook-signature": header("webhook-signature"),
        });
        verdict = "signature verified ✓";
      } catch (error) {
        verdict = `signature INVALID: ${error instanceof Error ? error.message : String(error)}`;
      }
    }
    console.log(`\n${new Date().toISOString()} ${request.method} ${request.url} → ${status}`);
    console.log(`  webhook-id: ${header("webhook-id")}  webhook-timestamp: ${header("webhook-timestamp")}`);
    console.log(`  ${verdict}`);
    console.log(`  ${body}`);
    response
      .writeHead(status, { "content-type": "text/plain" })
      .end(status < 300 ? "ok" : "failing on purpose");
  });
});

server.listen(Number(values.port), "127.0.0.1", () => {
  console.log(`receiver listening on http://127.0.0.1:${values.port}/ (answering ${status}); Ctrl-C to stop`);
});
process.on("SIGINT", () => server.close(() => process.exit(0)));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
