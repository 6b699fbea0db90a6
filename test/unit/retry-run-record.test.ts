import { DynamoDBDocumentClient, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import type { DeliveryStep } from "../../functions/domain/deliver.ts";
import { RETRY_RUN_CHECK_SECONDS } from "../../functions/shared/limits.ts";
import { retryRunName, TableKey } from "../../functions/shared/names.ts";
import { firstAttemptMessage, storesOnMockedClient } from "../support/mocked-stores.ts";

const GRACE_SECONDS = 50;
const ddb = mockClient(DynamoDBDocumentClient);
afterEach(() => ddb.reset());
const { deliveries } = storesOnMockedClient(GRACE_SECONDS);

const message = firstAttemptMessage();
const retry: DeliveryStep = {
  kind: "retry",
  nextAttemptAt: "2026-11-25T10:00:05.000Z",
  waitSeconds: 5,
  attempt: {
    attempt: 1,
    at: "2026-11-25T10:00:00.000Z",
    statusCode: 500,
    durationMs: 5,
    responseBody: "",
  },
};

/** The attribute values a recorded step's update sets, by attribute name. */
function setValues(): Record<string, unknown> {
  const input = ddb.commandCalls(UpdateCommand)[0]?.args[0].input;
  const names = input?.ExpressionAttributeNames ?? {};
  const values = input?.ExpressionAttributeValues ?? {};
  const set = (input?.UpdateExpression ?? "").split(" REMOVE ")[0]?.replace(/^SET /, "") ?? "";
  return Object.fromEntries(
    set
      .split(", ")
      .map((clause) => clause.split(" = "))
      .filter(([, value]) => value?.startsWith(":v"))
      .map(([path = "", value = ""]) => [names[path] ?? path, values[value]]),
  );
}

describe("a retrying delivery's record and its retry workflow", () => {
  it("names the execution of the retry slot the delivery joins, and falls due shortly after the slot", async () => {
    ddb.on(UpdateCommand).resolves({});

    await deliveries.recordStep(message, retry, new Date("2026-11-25T10:00:00.100Z"), {
      startsRetryRun: retryRunName("wh_1", retry.nextAttemptAt),
    });

    const set = setValues();
    expect(set.retry_run).toBe(`wh_1-at-${Date.parse("2026-11-25T10:00:05.000Z") / 1000}`);
    expect(set.status).toBe("retrying");
    const dueAt = String(set[TableKey.dueAt]);
    expect(dueAt).toBe(
      new Date(Date.parse(retry.nextAttemptAt) + RETRY_RUN_CHECK_SECONDS * 1000).toISOString(),
    );
    // Sooner than the grace after which any other overdue record is driven on.
    expect(Date.parse(dueAt)).toBeLessThan(Date.parse(retry.nextAttemptAt) + GRACE_SECONDS * 1000);
  });

  it("sets no execution when the step names none", async () => {
    ddb.on(UpdateCommand).resolves({});

    await deliveries.recordStep({ ...message, attempt: 2 }, retry, new Date("2026-11-25T10:00:05.100Z"));

    expect(setValues()).not.toHaveProperty("retry_run");
  });
});
