#!/usr/bin/env node
import { parseArgs } from "node:util";
import { createApiKey, listApiKeys, revokeApiKey } from "../functions/adapters/api-keys.ts";
import { StackOutput } from "../functions/shared/names.ts";
import { requireOutput, resolveTarget } from "./target.ts";

const USAGE = `usage:
  npm run api-key -- create --tenant <tenant-id> [--stack NAME]
  npm run api-key -- list [--tenant <tenant-id>] [--stack NAME]
  npm run api-key -- revoke <key-id> [--stack NAME]

Without --stack it talks to the local stack started by "npm start".`;

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { tenant: { type: "string" }, stack: { type: "string" }, help: { type: "boolean", short: "h" } },
  });
  const [command, argument] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return;
  }
  const target = await resolveTarget(values.stack);
  const deps = { ddb: target.ddb, tableName: requireOutput(target, StackOutput.webhooksTable) };

  if (command === "create") {
    if (!values.tenant || !/^[A-Za-z0-9_.:-]{1,128}$/.test(values.tenant)) {
      throw new Error("create needs --tenant <id> (1-128 characters of A-Z a-z 0-9 _ . : -)");
    }
    const key = await createApiKey(deps, values.tenant);
    console.log(key.apiKey);
    console.error(
      `created key ${key.keyId} for tenant ${key.tenantId} on ${target.description}; it is shown only once`,
    );
  } else if (command === "list") {
    const keys = await listApiKeys(deps, values.tenant);
    if (keys.length === 0) console.log("no API keys");
    for (const key of keys) {
      console.log(
        `${key.keyId}  tenant=${key.tenantId}  created=${key.createdAt}${key.revokedAt ? `  revoked=${key.revokedAt}` : ""}`,
      );
    }
  } else if (command === "revoke") {
    if (!argument) throw new Error("revoke needs the key id shown by 'list'");
    if (!(await revokeApiKey(deps, argument))) throw new Error(`no active key with id ${argument}`);
    console.log(
      `revoked ${argument}; it stops working once the API's authorizer cache expires (60 s by default)`,
    );
  } else {
    throw new Error(`unknown command "${command}"\n${USAGE}`);
  }
}

main().catch((error: unknown) => {
  console.error(`api-key: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
