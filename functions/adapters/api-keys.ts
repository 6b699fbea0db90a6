import { createHash, randomBytes as cryptoRandomBytes } from "node:crypto";
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  ScanCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { constantTimeEqual } from "../domain/signing.ts";
import { TableKey } from "../shared/names.ts";
import { Keys } from "./keys.ts";

/** API keys start with this, so a leaked one is easy to recognise in a log or a secret scanner. */
export const API_KEY_PREFIX = "hk_";

export interface ApiKeyDeps {
  readonly ddb: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly randomBytes?: (size: number) => Buffer;
  readonly now?: () => Date;
}

export interface ApiKeySummary {
  readonly keyId: string;
  readonly tenantId: string;
  readonly createdAt: string;
  readonly revokedAt?: string;
}

/** Only this hash of a key is ever stored; the key itself is shown once, when it is created. */
export function hashApiKey(apiKey: string): string {
  return createHash("sha256").update(apiKey).digest("hex");
}

/** A short, non-secret handle for a key (its hash prefix), for listing and revoking. */
function keyIdOf(keyHash: string): string {
  return keyHash.slice(0, 12);
}

export async function createApiKey(
  deps: ApiKeyDeps,
  tenantId: string,
): Promise<{ apiKey: string; tenantId: string; keyId: string }> {
  const apiKey = API_KEY_PREFIX + (deps.randomBytes ?? cryptoRandomBytes)(32).toString("base64url");
  const keyHash = hashApiKey(apiKey);
  await deps.ddb.send(
    new PutCommand({
      TableName: deps.tableName,
      Item: {
        [TableKey.partition]: Keys.apiKey(keyHash),
        [TableKey.sort]: Keys.apiKeySort,
        key_hash: keyHash,
        key_id: keyIdOf(keyHash),
        tenant_id: tenantId,
        created_at: (deps.now ?? (() => new Date()))().toISOString(),
      },
      ConditionExpression: "attribute_not_exists(#pk)",
      ExpressionAttributeNames: { "#pk": TableKey.partition },
    }),
  );
  return { apiKey, tenantId, keyId: keyIdOf(keyHash) };
}

/** The tenant an API key belongs to, or undefined for an unknown or revoked key. */
export async function tenantForApiKey(deps: ApiKeyDeps, apiKey: string): Promise<string | undefined> {
  const keyHash = hashApiKey(apiKey);
  const { Item } = await deps.ddb.send(
    new GetCommand({
      TableName: deps.tableName,
      Key: { [TableKey.partition]: Keys.apiKey(keyHash), [TableKey.sort]: Keys.apiKeySort },
    }),
  );
  if (!Item || Item.revoked_at !== undefined || typeof Item.key_hash !== "string") return undefined;
  return constantTimeEqual(Item.key_hash, keyHash) ? String(Item.tenant_id) : undefined;
}

async function* apiKeyItems(deps: ApiKeyDeps): AsyncGenerator<Record<string, unknown>> {
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await deps.ddb.send(
      new ScanCommand({
        TableName: deps.tableName,
        FilterExpression: "#sk = :sk",
        ExpressionAttributeNames: { "#sk": TableKey.sort },
        ExpressionAttributeValues: { ":sk": Keys.apiKeySort },
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      }),
    );
    yield* page.Items ?? [];
    startKey = page.LastEvaluatedKey;
  } while (startKey);
}

/** Every key, optionally of one tenant. An operator command: keys are few, so a scan is fine. */
export async function listApiKeys(deps: ApiKeyDeps, tenantId?: string): Promise<ApiKeySummary[]> {
  const summaries: ApiKeySummary[] = [];
  for await (const item of apiKeyItems(deps)) {
    if (tenantId !== undefined && item.tenant_id !== tenantId) continue;
    summaries.push({
      keyId: String(item.key_id),
      tenantId: String(item.tenant_id),
      createdAt: String(item.created_at),
      ...(item.revoked_at === undefined ? {} : { revokedAt: String(item.revoked_at) }),
    });
  }
  return summaries.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

/** Revokes the active key with this id (hash prefix); returns false when there is none. */
export async function revokeApiKey(deps: ApiKeyDeps, keyId: string): Promise<boolean> {
  for await (const item of apiKeyItems(deps)) {
    if (item.key_id !== keyId || item.revoked_at !== undefined) continue;
    await deps.ddb.send(
      new UpdateCommand({
        TableName: deps.tableName,
        Key: { [TableKey.partition]: item[TableKey.partition], [TableKey.sort]: item[TableKey.sort] },
        UpdateExpression: "SET revoked_at = :now",
        ExpressionAttributeValues: { ":now": (deps.now ?? (() => new Date()))().toISOString() },
      }),
    );
    return true;
  }
  return false;
}
