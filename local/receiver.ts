#!/usr/bin/env node
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import { Webhook } from "standardwebhooks";

/**
 * A webhook receiver for trying Hookline on this machine: prints every request it gets and, given the
 * webhook's secret, whether its Standard Webhooks signature verifies.
 */
const HELP = `Usage: npm run receiver -- [options]

Prints every webhook request it gets on 127.0.0.1 and, given the webhook's secret, whether its
Standard Webhooks signature verifies.

Options:
  --port <port>        port to listen on (default 4000; 0 picks a free one)
  --secret <whsec_…>   the webhook's signing secret, to verify each request
                       (default: the HOOKLINE_WEBHOOK_SECRET environment variable; none: not verified)
  --status <code>      HTTP status to answer every request with, e.g. 500 to watch retries (default 200)
  -h, --help           show this help
`;

/** A mistake on the command line: one line on stderr and exit code 1, no stack trace. */
function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

function integerOption(name: string, raw: string, min: number, max: number): number {
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) {
    fail(`--${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

const { values } = (() => {
  try {
    return parseArgs({
      options: {
        port: { type: "string", default: "4000" },
        secret: { type: "string", default: process.env.HOOKLINE_WEBHOOK_SECRET },
        status: { type: "string", default: "200" },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (error) {
    return fail(`${error instanceof Error ? error.message : String(error)}; see npm run receiver -- --help`);
  }
})();
if (values.help) {
  process.stdout.write(HELP);
  process.exit(0);
}
const port = integerOption("port", values.port, 0, 65_535);
// Node refuses to write a status outside 100-999; below 200 is no answer a webhook sender accepts.
const status = integerOption("status", values.status, 200, 599);
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

server.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EADDRINUSE") fail(`port ${port} is in use; pick another with --port`);
  fail(`could not listen on 127.0.0.1:${port}: ${error.message}`);
});
server.listen(port, "127.0.0.1", () => {
  const { port: bound } = server.address() as AddressInfo;
  console.log(`receiver listening on http://127.0.0.1:${bound}/ (answering ${status}); Ctrl-C to stop`);
});
process.on("SIGINT", () => server.close(() => process.exit(0)));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
