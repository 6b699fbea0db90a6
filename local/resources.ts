/**
 * Creates the template's DynamoDB tables and SQS queues in the emulators, unless they exist already
 * (their data survives restarts). Tables keep the stream their `StreamSpecification` asks for, which
 * the DynamoDB Streams event source mappings read (dynamodb-stream-source.ts). Existing tables gain any
 * global secondary index and any stream added to the template since; a changed key schema or stream
 * view type needs `--fresh`.
 */
import {
  type AttributeDefinition,
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  type DynamoDBClient,
  type GlobalSecondaryIndex,
  ResourceNotFoundException,
  type StreamSpecification,
  type StreamViewType,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
} from "@aws-sdk/client-dynamodb";
import {
  CreateQueueCommand,
  QueueNameExists,
  SetQueueAttributesCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type { IntrinsicResolver } from "./intrinsics.ts";
import type { LocalNames } from "./physical-names.ts";
import type { TableKeys } from "./stale-reads.ts";
import { type CfnTemplate, isRecord, props, resourcesOfType } from "./template.ts";

export interface CreatedResources {
  readonly tables: string[];
  readonly queues: string[];
  /** Notes for the console, e.g. a table whose key schema no longer matches the template. */
  readonly warnings: string[];
}

export async function createTables(
  template: CfnTemplate,
  resolver: IntrinsicResolver,
  names: LocalNames,
  ddb: DynamoDBClient,
): Promise<{ tables: string[]; keys: TableKeys[]; warnings: string[] }> {
  const tables: string[] = [];
  const keys: TableKeys[] = [];
  const warnings: string[] = [];
  const definitions = [
    ...resourcesOfType(template, "AWS::DynamoDB::Table"),
    ...resourcesOfType(template, "AWS::DynamoDB::GlobalTable"),
  ];
  for (const { logicalId, resource } of definitions) {
    const name = names.valuesOf(logicalId, resource)?.ref ?? logicalId;
    const p = resolver.resolve(props(resource), `Properties of ${logicalId} (${resource.Type})`) as Record<
      string,
      unknown
    >;
    const input = createTableInput(name, p);
    const existing = await describe(ddb, name);
    if (existing === undefined) {
      await ddb.send(new CreateTableCommand(input));
    } else {
      const sameKeys = JSON.stringify(existing.KeySchema) === JSON.stringify(input.KeySchema);
      if (!sameKeys) warnings.push(`table ${name}: key schema differs from the template; run with --fresh`);
      await addMissingIndexes(
        ddb,
        input,
        existing.GlobalSecondaryIndexes?.map((index) => index.IndexName) ?? [],
      );
      await enableMissingStream(ddb, input, existing.StreamSpecification, warnings);
    }
    const ttl = p.TimeToLiveSpecification;
    if (
      isRecord(ttl) &&
      (ttl.Enabled === true || ttl.Enabled === "true") &&
      typeof ttl.AttributeName === "string"
    ) {
      await enableTtl(ddb, name, ttl.AttributeName, warnings);
    }
    tables.push(name);
    keys.push(tableKeys(input));
  }
  return { tables, keys, warnings };
}

function tableKeys(input: CreateTableCommandInput): TableKeys {
  const names = (schema: { AttributeName?: string }[] | undefined) =>
    (schema ?? []).map((element) => element.AttributeName ?? "");
  const indexes = [...(input.GlobalSecondaryIndexes ?? []), ...(input.LocalSecondaryIndexes ?? [])];
  return {
    name: input.TableName ?? "",
    key: names(input.KeySchema),
    indexes: Object.fromEntries(indexes.map((index) => [index.IndexName ?? "", names(index.KeySchema)])),
  };
}

async function enableTtl(ddb: DynamoDBClient, tableName: string, attribute: string, warnings: string[]) {
  const current = await ddb.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
  const description = current.TimeToLiveDescription;
  if (description?.TimeToLiveStatus === "ENABLED" || description?.TimeToLiveStatus === "ENABLING") {
    if (description.AttributeName !== attribute) {
      warnings.push(
        `table ${tableName}: TTL is on ${description.AttributeName}, the template says ${attribute}; run with --fresh`,
      );
    }
    return;
  }
  await ddb.send(
    new UpdateTimeToLiveCommand({
      TableName: tableName,
      TimeToLiveSpecification: { AttributeName: attribute, Enabled: true },
    }),
  );
}

function createTableInput(name: string, p: Record<string, unknown>): CreateTableCommandInput {
  const payPerRequest = p.BillingMode === "PAY_PER_REQUEST" || p.BillingMode === undefined;
  const throughput = (value: unknown) =>
    payPerRequest
      ? undefined
      : {
          ReadCapacityUnits: Number((value as Record<string, unknown> | undefined)?.ReadCapacityUnits ?? 5),
          WriteCapacityUnits: Number((value as Record<string, unknown> | undefined)?.WriteCapacityUnits ?? 5),
        };
  const indexes = (value: unknown) =>
    Array.isArray(value) && value.length > 0
      ? value.map((index: Record<string, unknown>) => ({
          IndexName: index.IndexName as string,
          KeySchema: index.KeySchema as GlobalSecondaryIndex["KeySchema"],
          Projection: index.Projection as GlobalSecondaryIndex["Projection"],
          ProvisionedThroughput: throughput(index.ProvisionedThroughput),
        }))
      : undefined;
  const stream = p.StreamSpecification;
  return {
    TableName: name,
    KeySchema: p.KeySchema as CreateTableCommandInput["KeySchema"],
    AttributeDefinitions: p.AttributeDefinitions as AttributeDefinition[],
    BillingMode: payPerRequest ? "PAY_PER_REQUEST" : "PROVISIONED",
    ProvisionedThroughput: throughput(p.ProvisionedThroughput),
    GlobalSecondaryIndexes: indexes(p.GlobalSecondaryIndexes),
    LocalSecondaryIndexes: indexes(p.LocalSecondaryIndexes)?.map(
      ({ ProvisionedThroughput: _, ...index }) => index,
    ),
    StreamSpecification:
      isRecord(stream) && typeof stream.StreamViewType === "string"
        ? { StreamEnabled: true, StreamViewType: stream.StreamViewType as StreamViewType }
        : undefined,
  };
}

async function describe(ddb: DynamoDBClient, name: string) {
  try {
    return (await ddb.send(new DescribeTableCommand({ TableName: name }))).Table;
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return undefined;
    throw error;
  }
}

async function addMissingIndexes(ddb: DynamoDBClient, input: CreateTableCommandInput, existing: unknown[]) {
  for (const index of input.GlobalSecondaryIndexes ?? []) {
    if (existing.includes(index.IndexName)) continue;
    await ddb.send(
      new UpdateTableCommand({
        TableName: input.TableName,
        AttributeDefinitions: input.AttributeDefinitions,
        GlobalSecondaryIndexUpdates: [{ Create: index }],
      }),
    );
  }
}

async function enableMissingStream(
  ddb: DynamoDBClient,
  input: CreateTableCommandInput,
  existing: StreamSpecification | undefined,
  warnings: string[],
) {
  const wanted = input.StreamSpecification;
  if (wanted === undefined) return;
  if (existing?.StreamEnabled === true) {
    if (existing.StreamViewType !== wanted.StreamViewType) {
      warnings.push(
        `table ${input.TableName}: stream view type is ${existing.StreamViewType}, the template says ${wanted.StreamViewType}; run with --fresh`,
      );
    }
    return;
  }
  await ddb.send(new UpdateTableCommand({ TableName: input.TableName, StreamSpecification: wanted }));
}

const QUEUE_ATTRIBUTES = [
  "DelaySeconds",
  "MaximumMessageSize",
  "MessageRetentionPeriod",
  "ReceiveMessageWaitTimeSeconds",
  "VisibilityTimeout",
  "FifoQueue",
  "ContentBasedDeduplication",
  "DeduplicationScope",
  "FifoThroughputLimit",
] as const;

export async function createQueues(
  template: CfnTemplate,
  resolver: IntrinsicResolver,
  names: LocalNames,
  sqs: SQSClient,
): Promise<string[]> {
  const queues = resourcesOfType(template, "AWS::SQS::Queue").map(({ logicalId, resource }) => {
    const p = resolver.resolve(props(resource), `Properties of ${logicalId} (AWS::SQS::Queue)`) as Record<
      string,
      unknown
    >;
    const attributes: Record<string, string> = {};
    for (const key of QUEUE_ATTRIBUTES) if (p[key] !== undefined) attributes[key] = String(p[key]);
    for (const key of ["RedrivePolicy", "RedriveAllowPolicy"]) {
      if (p[key] !== undefined)
        attributes[key] = typeof p[key] === "string" ? p[key] : JSON.stringify(p[key]);
    }
    const values = names.valuesOf(logicalId, resource);
    return { name: values?.attributes.QueueName ?? logicalId, arn: values?.attributes.Arn, attributes };
  });
  // Dead-letter queues first: a redrive policy names its target by ARN.
  const targets = new Set(queues.map((queue) => deadLetterArn(queue.attributes.RedrivePolicy)));
  queues.sort((a, b) => Number(targets.has(b.arn)) - Number(targets.has(a.arn)));

  for (const queue of queues) {
    try {
      await sqs.send(new CreateQueueCommand({ QueueName: queue.name, Attributes: queue.attributes }));
    } catch (error) {
      if (!(error instanceof QueueNameExists)) throw error;
      const { FifoQueue: _fifo, ...mutable } = queue.attributes;
      await sqs.send(
        new SetQueueAttributesCommand({ QueueUrl: names.queueUrl(queue.name), Attributes: mutable }),
      );
    }
  }
  return queues.map((queue) => queue.name);
}

function deadLetterArn(redrivePolicy: string | undefined): string | undefined {
  if (redrivePolicy === undefined) return undefined;
  const parsed: unknown = JSON.parse(redrivePolicy);
  return isRecord(parsed) && typeof parsed.deadLetterTargetArn === "string"
    ? parsed.deadLetterTargetArn
    : undefined;
}
