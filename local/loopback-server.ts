/** What the local runtime's small HTTP proxies share: a loopback listener, its shutdown, forwarding. */
import type { IncomingMessage, Server } from "node:http";

/** Starts `server` on a free port of 127.0.0.1; resolves to its base URL. */
export function listenOnLoopback(server: Server): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      if (address === null || typeof address === "string") reject(new Error("no address"));
      else resolve(`http://127.0.0.1:${address.port}`);
    });
  });
}

/** Closes `server` and every connection it holds, kept-alive ones included. */
export function closeServer(server: Server | undefined): Promise<void> {
  if (server === undefined) return Promise.resolve();
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Sends `request`, as a proxy received it, on to `target` with `body`; answers the target's response. */
export function forward(target: string, request: IncomingMessage, body: string | Buffer): Promise<Response> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (typeof value === "string" && !["host", "content-length", "connection"].includes(name))
      headers[name] = value;
  }
  return fetch(`${target}${request.url ?? "/"}`, {
    method: request.method ?? "POST",
    headers,
    ...(request.method === "GET" || request.method === "HEAD" ? {} : { body }),
  });
}
