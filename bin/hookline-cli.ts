#!/usr/bin/env node
/**
 * `hookline`: the operator's command line. It talks to the local stack started by `npm start`, or with
 * `--stack NAME` to a deployed stack (the usual AWS credentials and region apply).
 */
import { Command, CommanderError } from "commander";
import { apiKeyCommands } from "./cli/api-keys.ts";
import { deliveryCommands } from "./cli/deliveries.ts";
import { dlqCommands } from "./cli/dlq.ts";
import { eventCommands } from "./cli/events.ts";
import { ingestDlqCommands } from "./cli/ingest-dlq.ts";
import { listenCommand } from "./cli/listen.ts";
import { statusCommand } from "./cli/status.ts";
import { tailCommand } from "./cli/tail.ts";
import { triggerCommand } from "./cli/trigger.ts";
import { webhookCommands } from "./cli/webhooks.ts";

function hooklineProgram(): Command {
  const program = new Command("hookline")
    .description(
      'Operate Hookline: API keys, webhooks, deliveries, events, the dead-letter queue, and a live view of deliveries; develop against it with listen and trigger. Without --stack it talks to the local stack started by "npm start".',
    )
    .option("--stack <name>", "a deployed stack's name (CloudFormation), instead of the local stack")
    .option("--json", "print JSON for scripts instead of tables", false)
    .showHelpAfterError("(add --help for usage)")
    .exitOverride();
  apiKeyCommands(program);
  webhookCommands(program);
  deliveryCommands(program);
  eventCommands(program);
  dlqCommands(program);
  ingestDlqCommands(program);
  tailCommand(program);
  listenCommand(program);
  triggerCommand(program);
  statusCommand(program);
  return program;
}

/** What a person needs from an error: its message, and for a network failure what to check. */
function explain(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: string } | undefined)?.code;
  if (code === "ECONNREFUSED" || /ECONNREFUSED/.test(message)) {
    return `${message}: is the local stack running ("npm start")?`;
  }
  return message;
}

try {
  await hooklineProgram().parseAsync();
} catch (error) {
  if (error instanceof CommanderError) {
    // Commander has printed the usage error (or the help or version) already.
    process.exitCode = error.exitCode;
  } else {
    console.error(`hookline: ${explain(error)}`);
    process.exitCode = 1;
  }
}
