/**
 * `hookline trigger <event-type>`: publishes an example event of a catalogue type over the HTTP API, as
 * an application would, so that a `listen` (or any subscribed webhook) receives it.
 */
import { type Command, Option } from "commander";
import { answer, apiClientOf, apiKeyOption } from "./api.ts";
import { connect } from "./context.ts";
import { parseData, unknownTypeMessage } from "./events.ts";
import { printJson } from "./output.ts";

export function triggerCommand(program: Command): void {
  program
    .command("trigger")
    .description("publish an example event of a catalogue type over the API (the tenant of the API key)")
    .argument("<event-type>", "a type of the stack's catalogue, e.g. memory.created")
    .addOption(
      new Option(
        "--data <json>",
        "the event's data, a JSON object (default: the type's example, as GET /v1/event-types lists it)",
      ).argParser(parseData),
    )
    .addOption(apiKeyOption())
    .action(
      async (
        type: string,
        options: { data?: Record<string, unknown>; apiKey?: string },
        command: Command,
      ) => {
        const { target, json } = await connect(command);
        const api = apiClientOf(target, options.apiKey);
        const catalogue = await answer(api.GET("/v1/event-types"));
        const definition = catalogue.data.find((candidate) => candidate.name === type);
        if (!definition) {
          throw new Error(
            unknownTypeMessage(
              type,
              catalogue.data.map((candidate) => candidate.name),
            ),
          );
        }
        const published = await answer(
          api.POST("/v1/events", { body: { type, data: options.data ?? definition.example } }),
        );
        if (json) {
          printJson(published);
          return;
        }
        const deliveries = `${published.deliveries} ${published.deliveries === 1 ? "delivery" : "deliveries"}`;
        console.log(
          `published ${published.id} (${published.type}) on ${target.description}: ${deliveries}${published.fan_out_complete ? "" : " so far"}`,
        );
      },
    );
}
