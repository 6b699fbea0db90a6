/**
 * Lambda's recursive loop detection, which the emulators do not have. In AWS, every invocation carries an
 * X-Ray trace header whose lineage counts the invocations of its chain; the SDK passes it on with each
 * request the function makes (`X-Amzn-Trace-Id`), SQS keeps it with each message sent, and when a
 * message would start the 17th invocation of its chain, Lambda does not invoke the function (unless its
 * `RecursiveLoop` is `Allow`) and moves the message to the queue's dead-letter queue.
 *
 * Locally: the Lambda host gives each invocation a trace header with the chain's depth, the SDK in the
 * function sends it as AWS's does, and this proxy in front of the SQS emulator (which keeps no trace
 * headers) stores it on each message sent as the `CHAIN_DEPTH_ATTRIBUTE` message attribute. The SQS
 * event source reads it back, removes it from the records and stops the chain (sqs-event-source.ts).
 * Only SQS → Lambda → SQS chains are counted: invocations by the HTTP API, EventBridge or Step Functions
 * start a new chain.
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { closeServer, forward, listenOnLoopback } from "./loopback-server.ts";

/** Lambda stops a chain at its 17th invocation. */
export const MAX_CHAIN_INVOCATIONS = 16;

/** The message attribute that carries a message's chain depth between the proxy and the event source. */
export const CHAIN_DEPTH_ATTRIBUTE = "HooklineLocalChainDepth";

const LINEAGE = /(?:^|;)\s*Lineage=local:(\d+)/;

/** The trace header of an invocation that is the `depth`-th of its chain. */
export function traceHeader(depth: number): string {
  const now = Math.floor(Date.now() / 1000).toString(16);
  return `Root=1-${now}-${randomBytes(12).toString("hex")};Sampled=0;Lineage=local:${depth}`;
}

/** The chain depth a trace header names, or undefined. */
export function chainDepthOf(header: string | undefined): number | undefined {
  const match = header === undefined ? null : LINEAGE.exec(header);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

type Body = Record<string, unknown>;

/** The SQS endpoint the functions use: stores each message's chain depth, passes everything else on. */
export class SqsChainProxy {
  readonly #target: string;
  #server: Server | undefined;

  constructor(options: { readonly target: string }) {
    this.#target = options.target;
  }

  listen(): Promise<string> {
    const server = createServer((request, response) => {
      void this.#handle(request).then(
        (answer) => {
          response.writeHead(answer.status, { "content-type": answer.contentType });
          response.end(answer.body);
        },
        (error: unknown) => {
          response.writeHead(502, { "content-type": "text/plain" });
          response.end(`loop-detection proxy: ${(error as Error).message}`);
        },
      );
    });
    this.#server = server;
    return listenOnLoopback(server);
  }

  close(): Promise<void> {
    return closeServer(this.#server);
  }

  async #handle(request: IncomingMessage): Promise<{ status: number; body: Buffer; contentType: string }> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    let body = Buffer.concat(chunks);
    const operation = String(request.headers["x-amz-target"] ?? "");
    const traceId = request.headers["x-amzn-trace-id"];
    const depth = chainDepthOf(typeof traceId === "string" ? traceId : undefined);
    if (depth !== undefined && operation.startsWith("AmazonSQS.SendMessage")) {
      body = Buffer.from(JSON.stringify(tagged(JSON.parse(body.toString("utf8")) as Body, depth)));
    }
    const answer = await forward(this.#target, request, body);
    return {
      status: answer.status,
      body: Buffer.from(await answer.arrayBuffer()),
      contentType: answer.headers.get("content-type") ?? "application/x-amz-json-1.0",
    };
  }
}

/** A SendMessage or SendMessageBatch request with the chain depth added to each message. */
function tagged(request: Body, depth: number): Body {
  const tag = (message: Body): Body => ({
    ...message,
    MessageAttributes: {
      ...((message.MessageAttributes ?? {}) as Body),
      [CHAIN_DEPTH_ATTRIBUTE]: { DataType: "Number", StringValue: String(depth) },
    },
  });
  if (Array.isArray(request.Entries)) return { ...request, Entries: (request.Entries as Body[]).map(tag) };
  return tag(request);
}
