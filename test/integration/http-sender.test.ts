import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { httpSender } from "../../functions/adapters/http-sender.ts";

const LOCAL_POLICY = { allowInsecureHttp: true, allowPrivateTargets: true, allowedPorts: "any" } as const;

/**
 * A receiver whose kept-alive connections go stale: it answers the first request of each connection
 * and keeps the connection open, but drops a connection as soon as a second request arrives on it, as
 * a server (or a frozen Lambda's idle socket) that closed it meanwhile would. It counts what it answered.
 */
async function staleConnectionReceiver() {
  let answered = 0;
  let connections = 0;
  const server = net.createServer((socket) => {
    connections += 1;
    let requests = 0;
    socket.on("data", (chunk) => {
      if (!chunk.toString("latin1").includes("\r\n\r\n")) return;
      requests += 1;
      if (requests > 1) {
        socket.resetAndDestroy();
        return;
      }
      answered += 1;
      socket.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: keep-alive\r\n\r\nok");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    answered: () => answered,
    connections: () => connections,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
});

describe("the HTTP sender", () => {
  it("sends once more on a new connection when a kept-alive one turns out to be closed", async () => {
    const receiver = await staleConnectionReceiver();
    close = receiver.close;
    const send = httpSender(LOCAL_POLICY);
    const request = { url: receiver.url, headers: {}, body: "{}", timeoutMs: 5_000 };

    expect(await send(request)).toMatchObject({ statusCode: 200 });
    // Idle long enough for a receiver to have closed it: past the sender's 1 s threshold.
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    const second = await send(request);

    expect(second).toMatchObject({ statusCode: 200, responseBody: "ok" });
    expect(second.error).toBeUndefined();
    expect(receiver.answered()).toBe(2);
    expect(receiver.connections()).toBe(2);
  });

  it("does not send again when a connection in steady use is reset: that is the receiver's answer", async () => {
    const receiver = await staleConnectionReceiver();
    close = receiver.close;
    const send = httpSender(LOCAL_POLICY);
    const request = { url: receiver.url, headers: {}, body: "{}", timeoutMs: 5_000 };

    expect(await send(request)).toMatchObject({ statusCode: 200 });
    const second = await send(request);

    expect(second.statusCode).toBeUndefined();
    expect(second.error).toBe("connection reset by the receiver");
    expect(receiver.connections()).toBe(1);
  });

  it("answers a request Node refuses to build (a header value it cannot encode) with an error, not a throw", async () => {
    const receiver = await staleConnectionReceiver();
    close = receiver.close;
    const send = httpSender(LOCAL_POLICY);
    for (const value of ["東京", "a\x01b"]) {
      const result = await send({
        url: receiver.url,
        headers: { "x-team": value },
        body: "{}",
        timeoutMs: 5_000,
      });
      expect(result.statusCode).toBeUndefined();
      expect(result.error).toMatch(/^the request could not be sent: .*header/i);
    }
    expect(receiver.connections()).toBe(0);
  });
});
