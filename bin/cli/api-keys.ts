import type { Command } from "commander";
import { createApiKey, listApiKeys, revokeApiKey } from "../../functions/adapters/api-keys.ts";
import { NotFoundError } from "../../functions/domain/errors.ts";
import { connect, storesOf, tenantOption } from "./context.ts";
import { printJson, printLines, tableOrEmpty } from "./output.ts";

export function apiKeyCommands(program: Command): void {
  const apiKey = program.command("api-key").description("create, list and revoke a tenant's API keys");

  apiKey
    .command("create")
    .description("create an API key for a tenant; the key is printed once and only its hash is stored")
    .addOption(tenantOption(true))
    .action(async (options: { tenant: string }, command: Command) => {
      const { target, json } = await connect(command);
      const key = await createApiKey(storesOf(target).apiKeys(), options.tenant);
      if (json) {
        printJson({ api_key: key.apiKey, key_id: key.keyId, tenant_id: key.tenantId });
        return;
      }
      console.log(key.apiKey);
      console.error(
        `created key ${key.keyId} for tenant ${key.tenantId} on ${target.description}; it is shown only once`,
      );
    });

  apiKey
    .command("list")
    .description("list API keys (their ids, never the keys), optionally of one tenant")
    .addOption(tenantOption(false))
    .action(async (options: { tenant?: string }, command: Command) => {
      const { target, json } = await connect(command);
      const keys = await listApiKeys(storesOf(target).apiKeys(), options.tenant);
      if (json) {
        printJson({
          data: keys.map((key) => ({
            key_id: key.keyId,
            tenant_id: key.tenantId,
            created_at: key.createdAt,
            revoked_at: key.revokedAt ?? null,
          })),
        });
        return;
      }
      printLines(
        tableOrEmpty(
          ["KEY ID", "TENANT", "CREATED", "REVOKED"],
          keys.map((key) => [key.keyId, key.tenantId, key.createdAt, key.revokedAt ?? ""]),
          "no API keys",
        ),
      );
    });

  apiKey
    .command("revoke")
    .description("revoke an API key by the id 'list' shows")
    .argument("<key-id>", "the key's id, as 'list' shows it")
    .action(async (keyId: string, _options: unknown, command: Command) => {
      const { target, json } = await connect(command);
      if (!(await revokeApiKey(storesOf(target).apiKeys(), keyId))) {
        throw new NotFoundError(`API key ${keyId} not found (or already revoked)`);
      }
      if (json) printJson({ key_id: keyId, revoked: true });
      else
        console.log(
          `revoked ${keyId}; it stops working once the API's authorizer cache expires (60 s by default)`,
        );
    });
}
