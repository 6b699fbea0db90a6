import { randomBytes } from "node:crypto";
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { TableKey } from "../shared/names.ts";
import { Keys } from "./keys.ts";

const KEY_BYTES = 32;

/**
 * The key page cursors are signed with: 32 random bytes kept in the webhooks table under one fixed
 * item (`CONFIG` / `CURSOR_KEY`, outside every tenant's partitions). The first function instance that
 * needs it creates it with a conditional put, so concurrent cold starts end up with the same key; each
 * instance then keeps it in memory.
 *
 * Why here and not in Secrets Manager: a secret resolved into an environment variable is visible to
 * anyone who can read the function's configuration, and the local runtime cannot resolve
 * `{{resolve:secretsmanager:...}}` references, so the local stack would differ from the deployed one.
 * The table already holds every webhook's signing secret, so keeping the cursor key beside them adds no
 * one who can read it. It is never rotated automatically; deleting the item rotates it (outstanding
 * cursors then answer 400 and clients start from the first page).
 */
export function dynamoCursorKey(
  client: DynamoDBDocumentClient,
  tableName: string,
): () => Promise<Uint8Array> {
  const itemKey = { [TableKey.partition]: Keys.config, [TableKey.sort]: Keys.cursorKeySort };
  let cached: Promise<Uint8Array> | undefined;

  async function read(): Promise<Uint8Array | undefined> {
    const { Item } = await client.send(
      new GetCommand({ TableName: tableName, Key: itemKey, ConsistentRead: true }),
    );
    return typeof Item?.key === "string" ? Buffer.from(Item.key, "base64") : undefined;
  }

  async function load(): Promise<Uint8Array> {
    const existing = await read();
    if (existing) return existing;
    const fresh = randomBytes(KEY_BYTES);
    try {
      await client.send(
        new PutCommand({
          TableName: tableName,
          Item: { ...itemKey, key: fresh.toString("base64"), created_at: new Date().toISOString() },
          ConditionExpression: "attribute_not_exists(#pk)",
          ExpressionAttributeNames: { "#pk": TableKey.partition },
        }),
      );
      return fresh;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const winner = await read();
      if (!winner) throw new Error("the cursor key item exists but holds no key");
      return winner;
    }
  }

  return () => {
    cached ??= load().catch((error: unknown) => {
      cached = undefined;
      throw error;
    });
    return cached;
  };
}

/**
 * The same key, read only: for the authorizer, which verifies portal tokens and must never create the
 * key (a token can only exist once the management function has created it). Undefined while there is
 * none; kept in memory once found.
 */
export function dynamoExistingCursorKey(
  client: DynamoDBDocumentClient,
  tableName: string,
): () => Promise<Uint8Array | undefined> {
  const itemKey = { [TableKey.partition]: Keys.config, [TableKey.sort]: Keys.cursorKeySort };
  let found: Uint8Array | undefined;
  return async () => {
    if (found !== undefined) return found;
    // Consistent: a link is often used the moment it is issued, right after its key was created.
    const { Item } = await client.send(
      new GetCommand({ TableName: tableName, Key: itemKey, ConsistentRead: true }),
    );
    found = typeof Item?.key === "string" ? Buffer.from(Item.key, "base64") : undefined;
    return found;
  };
}
