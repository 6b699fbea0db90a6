import type { Server } from "node:http";

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
