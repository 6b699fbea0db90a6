/**
 * The typed client in a few lines: publish an event, then list a webhook's deliveries. Run it after
 * the README's walkthrough, with its API and KEY exported and WH the webhook's id:
 *
 *     WH=$WH node examples/client/publish.ts
 */
import { createHooklineClient } from "hookline/client";

const hookline = createHooklineClient({ baseUrl: `${process.env.API}`, apiKey: `${process.env.KEY}` });

const published = await hookline.POST("/v1/events", {
  body: { type: "memory.created", data: { memory_id: "m_1" } },
});
if (published.error) throw new Error(`not published: ${JSON.stringify(published.error)}`);
console.log(`published ${published.data.id} to ${published.data.deliveries} webhook(s)`);

const listed = await hookline.GET("/v1/webhooks/{webhookId}/deliveries", {
  params: { path: { webhookId: `${process.env.WH}` }, query: { limit: 5 } },
});
if (listed.error) throw new Error(`not listed: ${JSON.stringify(listed.error)}`);
for (const delivery of listed.data.data) {
  console.log(`${delivery.id} ${delivery.status} after ${delivery.attempt_count} attempt(s)`);
}
