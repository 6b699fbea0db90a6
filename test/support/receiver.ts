import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** The body exactly as it arrived on the wire. */
  readonly rawBody: string;
  readonly receivedAt: number;
  /** What the receiver answered: a status code, or that it dropped the connection or never answered. */
  readonly answer?: number | "reset" | "hang";
}

/** How the receiver answers one request. */
export type Behaviour =
  | {
      readonly status: number;
      readonly headers?: Readonly<Record<string, string>>;
      readonly delayMs?: number;
      /** The answer's body; by default a few words. */
      readonly body?: string;
    }
  /** Drop the connection without answering. */
  | "reset"
  /** Never answer (the sender's timeout must fire). */
  | "hang";

/**
 * A webhook receiver on 127.0.0.1 whose answers a test decides, recording every request it gets:
 * set `status` for a fixed answer, or `behave` to decide per request (it gets the request and how
 * many requests with the same `webhook-id` came before it).
 */
export class Receiver {
  readonly requests: ReceivedRequest[] = [];
  status = 200;
  behave: ((request: ReceivedRequest, previousAttempts: number) => Behaviour) | undefined;
  private readonly server: Server;

  private constructor(server: Server) {
    this.server = server;
  }

  static async start(): Promise<Receiver> {
    const server = createServer();
    const receiver = new Receiver(server);
    server.on("request", (request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        const received: ReceivedRequest = {
          method: request.method ?? "",
          path: request.url ?? "",
          headers: request.headers,
          rawBody: Buffer.concat(chunks).toString("utf8"),
          receivedAt: Date.now(),
        };
        const previous = receiver.requests.filter(
          (r) => r.headers["webhook-id"] === request.headers["webhook-id"],
        ).length;
        const behaviour = receiver.behave?.(received, previous) ?? { status: receiver.status };
        receiver.requests.push({
          ...received,
          answer: typeof behaviour === "string" ? behaviour : behaviour.status,
        });
        if (behaviour === "reset") {
          request.socket.destroy();
          return;
        }
        if (behaviour === "hang") return;
        const answer = () => {
          response.writeHead(behaviour.status, { "content-type": "text/plain", ...behaviour.headers });
          response.end(behaviour.body ?? (behaviour.status < 300 ? "thanks" : "receiver says no"));
        };
        if (behaviour.delayMs) setTimeout(answer, behaviour.delayMs);
        else answer();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks`;
  }

  /** The requests that carried this `webhook-id` (one delivery's attempts). */
  attemptsOf(deliveryId: string): ReceivedRequest[] {
    return this.requests.filter((request) => request.headers["webhook-id"] === deliveryId);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Polls until `check` returns a value (not undefined), or fails after `timeoutMs` with `what`. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let delay = 25;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 250);
  }
}
