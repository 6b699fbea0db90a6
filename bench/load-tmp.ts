// temporary: drive load against a running stack (local.json in HOOKLINE_DIR)
import { readFileSync } from "node:fs";
import { createServer } from "node:http";

const info = JSON.parse(readFileSync(process.argv[2] ?? "", "utf8"));
const { apiUrl, apiKey } = info;
const call = async (method: string, route: string, body?: unknown) => {
  const r = await fetch(`${apiUrl}${route}`, {
    method,
    headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: r.status, body: await r.json() };
};
let received = 0;
const server = createServer((q, s) => {
  q.resume();
  q.on("end", () => {
    received++;
    s.writeHead(200);
    s.end("ok");
  });
});
await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/h`;
for (let i = 0; i < 10; i++) await call("POST", "/v1/webhooks", { url, event_types: ["memory.updated"] });
const t0 = performance.now();
let next = 0;
await Promise.all(
  Array.from({ length: 16 }, async () => {
    while (next < 300) {
      next++;
      await call("POST", "/v1/events", { type: "memory.updated", data: { x: 1 } });
    }
  }),
);
const published = performance.now() - t0;
while (received < 3000) await new Promise((r) => setTimeout(r, 50));
console.log(
  `published 300 in ${published.toFixed(0)} ms; 3000 delivered in ${(performance.now() - t0).toFixed(0)} ms`,
);
server.close();
