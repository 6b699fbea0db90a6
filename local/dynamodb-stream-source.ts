/**
 * Lambda's DynamoDB Streams event source mapping, done locally. DynamoDB Local keeps each table's stream
 * (resources.ts creates the tables with their `StreamSpecification`); a poller per shard reads it through
 * the Streams API and invokes the function with a real DynamoDB Streams event, as Lambda does:
 *
 * - Shards are read in order: a child shard only once its parent has been read to its end. Each shard is
 *   polled about 4 times a second, from `StartingPosition` (`TRIM_HORIZON`, or `LATEST`: only what is
 *   written after the stack started); shards that appear later are read from their start.
 * - A batch holds up to `BatchSize` records (default 100, and 6 MB), gathered for up to
 *   `MaximumBatchingWindowInSeconds`. Records that match none of the `FilterCriteria` patterns (matched
 *   against the whole event record) are dropped, as Lambda drops them, and never reach the function.
 * - A batch is retried until it succeeds, and the records after it wait: the shard is blocked. Lambda
 *   gives up after `MaximumRetryAttempts` retries (default -1: never), or once records are older than
 *   `MaximumRecordAgeInSeconds` (default -1: never, until the stream's 24-hour retention); what it gives
 *   up on goes to the `DestinationConfig.OnFailure` queue as Lambda's invocation record (the batch's
 *   shard and sequence numbers, never the records themselves), and the shard moves on.
 * - `BisectBatchOnFunctionError` splits a failed batch in two (a split uses no retry); with
 *   `FunctionResponseTypes: ["ReportBatchItemFailures"]` the batch is checkpointed before the lowest
 *   sequence number in `batchItemFailures` and retried from there, records after it included, even those
 *   that succeeded (an invalid response fails the whole batch). A throttled invocation is retried without
 *   using a retry, until the records' maximum age.
 * - Delivery is at least once: a batch that fails is delivered again whole, or from its checkpoint.
 *
 * Not modelled: `ParallelizationFactor` (one batch per shard at a time, as with the default 1),
 * `TumblingWindowInSeconds`, and on-failure destinations other than SQS queues; they are reported at
 * start. The checkpoints live in memory: after a restart that kept the data, a `TRIM_HORIZON` mapping
 * reads its stream again from the oldest record (at least once, but more than AWS would deliver), and a
 * `LATEST` one skips what was written while the stack was down. DynamoDB Local truncates
 * `ApproximateCreationDateTime` to the minute, so a record's age counts from the earlier of that minute's
 * end and the moment the poller read it: never older than it is, so never given up on too early. The
 * pauses between retries (from half a second, doubling up to 5 s) are the runtime's own choice. Lambda's
 * reads of the stream are free in AWS, so they are not counted as billed requests.
 */
import { randomUUID } from "node:crypto";
import { DescribeTableCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  type _Record,
  type AttributeValue,
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  ExpiredIteratorException,
  GetRecordsCommand,
  type GetRecordsCommandOutput,
  GetShardIteratorCommand,
  type Shard,
  TrimmedDataAccessException,
} from "@aws-sdk/client-dynamodb-streams";
import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { matchesPattern } from "../functions/domain/event-pattern.ts";
import { batchItemFailures } from "./batch-item-failures.ts";
import type { IntrinsicResolver } from "./intrinsics.ts";
import type { InvokeResult, LambdaHost } from "./lambda-host.ts";
import type { LocalNames } from "./physical-names.ts";
import { type CfnTemplate, isRecord, props, resourcesOfType } from "./template.ts";

export interface DynamoDbStreamSourceConfig {
  readonly logicalId: string;
  readonly functionName: string;
  readonly tableName: string;
  /** The stream's ARN as the template resolves it (`Fn::GetAtt [Table, StreamArn]`), which events carry. */
  readonly streamArn: string;
  readonly startingPosition: "TRIM_HORIZON" | "LATEST";
  readonly batchSize: number;
  readonly batchingWindowMs: number;
  /** Retries of a failed batch before it is given up on; -1 retries until the records expire. */
  readonly maximumRetryAttempts: number;
  /** Age past which records are given up on; -1 keeps them until they expire. */
  readonly maximumRecordAgeSeconds: number;
  readonly bisectBatchOnFunctionError: boolean;
  readonly reportBatchItemFailures: boolean;
  /** The SQS queue that receives the invocation records of batches given up on, if there is one. */
  readonly onFailureQueueUrl?: string;
  /** Parsed `FilterCriteria` patterns; a record must match one of them (when there are any). */
  readonly filters: readonly unknown[];
}

/** Whether an event source ARN names a DynamoDB table's stream. */
export function isDynamoDbStreamArn(arn: string): boolean {
  return /^arn:[^:]+:dynamodb:[^:]*:[^:]*:table\/[^/]+\/stream\/./.test(arn);
}

/**
 * The DynamoDB Streams event source mappings of the template; `skipped` explains the ones that are not
 * emulated and the properties of the others that are not.
 */
export function dynamoDbStreamSources(
  template: CfnTemplate,
  resolver: IntrinsicResolver,
  names: LocalNames,
): { sources: DynamoDbStreamSourceConfig[]; skipped: string[] } {
  const sources: DynamoDbStreamSourceConfig[] = [];
  const skipped: string[] = [];
  const tables = new Map<string, { name: string; hasStream: boolean }>();
  const definitions = [
    ...resourcesOfType(template, "AWS::DynamoDB::Table"),
    ...resourcesOfType(template, "AWS::DynamoDB::GlobalTable"),
  ];
  for (const { logicalId, resource } of definitions) {
    const values = names.valuesOf(logicalId, resource);
    const streamArn = values?.attributes.StreamArn;
    if (streamArn === undefined || values?.ref === undefined) continue;
    tables.set(streamArn, { name: values.ref, hasStream: isRecord(props(resource).StreamSpecification) });
  }
  for (const { logicalId, resource } of resourcesOfType(template, "AWS::Lambda::EventSourceMapping")) {
    const p = props(resource);
    const where = `event source mapping ${logicalId}`;
    const sourceArn = resolver.resolveString(p.EventSourceArn, `EventSourceArn of ${where}`);
    // Other sources are sqs-event-source.ts's to run or report.
    if (!isDynamoDbStreamArn(sourceArn)) continue;
    const table = tables.get(sourceArn);
    if (table === undefined) {
      skipped.push(`${where}: source ${sourceArn} is not the stream of a table of the stack; not emulated`);
      continue;
    }
    if (!table.hasStream) {
      skipped.push(`${where}: table ${table.name} has no StreamSpecification; not emulated`);
      continue;
    }
    if (p.Enabled === false || p.Enabled === "false") {
      skipped.push(`${where}: disabled`);
      continue;
    }
    const startingPosition = p.StartingPosition;
    if (startingPosition !== "TRIM_HORIZON" && startingPosition !== "LATEST") {
      skipped.push(`${where}: StartingPosition ${String(startingPosition)} is not one DynamoDB streams have`);
      continue;
    }
    const destination = resolver.resolve(p.DestinationConfig ?? {}, `DestinationConfig of ${where}`);
    const onFailure =
      isRecord(destination) && isRecord(destination.OnFailure)
        ? destination.OnFailure.Destination
        : undefined;
    const onFailureQueue =
      typeof onFailure === "string" && onFailure.includes(":sqs:") ? onFailure.split(":").pop() : undefined;
    skipped.push(...unsupportedProperties(p, onFailure, where));
    const criteria = resolver.resolve(p.FilterCriteria ?? {}, `FilterCriteria of ${where}`);
    const filters = isRecord(criteria) && Array.isArray(criteria.Filters) ? criteria.Filters : [];
    sources.push({
      logicalId,
      functionName: resolver.resolveString(p.FunctionName, `FunctionName of ${where}`),
      tableName: table.name,
      streamArn: sourceArn,
      startingPosition,
      batchSize: Number(p.BatchSize ?? 100),
      batchingWindowMs: Number(p.MaximumBatchingWindowInSeconds ?? 0) * 1_000,
      maximumRetryAttempts: Number(p.MaximumRetryAttempts ?? -1),
      maximumRecordAgeSeconds: Number(p.MaximumRecordAgeInSeconds ?? -1),
      bisectBatchOnFunctionError:
        p.BisectBatchOnFunctionError === true || p.BisectBatchOnFunctionError === "true",
      reportBatchItemFailures:
        Array.isArray(p.FunctionResponseTypes) && p.FunctionResponseTypes.includes("ReportBatchItemFailures"),
      ...(onFailureQueue === undefined ? {} : { onFailureQueueUrl: names.queueUrl(onFailureQueue) }),
      filters: filters.map((filter: unknown) => JSON.parse(String(isRecord(filter) ? filter.Pattern : "{}"))),
    });
  }
  return { sources, skipped };
}

/** What a mapping asks for that the local runtime does not do; it runs without them. */
function unsupportedProperties(p: Record<string, unknown>, onFailure: unknown, where: string): string[] {
  const notes: string[] = [];
  const parallelization = Number(p.ParallelizationFactor ?? 1);
  if (parallelization > 1) {
    notes.push(
      `${where}: ParallelizationFactor ${parallelization} is not emulated; one batch per shard at a time`,
    );
  }
  if (p.TumblingWindowInSeconds !== undefined && Number(p.TumblingWindowInSeconds) > 0) {
    notes.push(`${where}: TumblingWindowInSeconds is not emulated; batches carry no window state`);
  }
  if (onFailure !== undefined && !(typeof onFailure === "string" && onFailure.includes(":sqs:"))) {
    notes.push(
      `${where}: on-failure destination ${String(onFailure)} is not an SQS queue; batches given up on are dropped locally`,
    );
  }
  return notes;
}

/** A record of the Lambda event, in the shape Lambda gives it (attribute values as DynamoDB JSON). */
interface StreamEventRecord {
  readonly eventID: string;
  readonly eventName: string;
  readonly eventVersion: string;
  readonly eventSource: "aws:dynamodb";
  readonly awsRegion: string;
  readonly dynamodb: {
    readonly ApproximateCreationDateTime: number;
    readonly Keys: Record<string, unknown>;
    readonly NewImage?: Record<string, unknown>;
    readonly OldImage?: Record<string, unknown>;
    readonly SequenceNumber: string;
    readonly SizeBytes: number;
    readonly StreamViewType: string;
  };
  readonly eventSourceARN: string;
  readonly userIdentity?: { readonly type: string; readonly principalId: string };
}

/** A record read from a shard, with what the poller needs besides the event. */
interface ReadRecord {
  readonly event: StreamEventRecord;
  /** The latest time the record can have been written: what its age counts from. */
  readonly writtenByMs: number;
  readonly bytes: number;
}

/** A batch being retried: its records (fewer after a checkpoint or a split) and its failures so far. */
interface PendingBatch {
  records: ReadRecord[];
  invocations: number;
  retries: number;
}

/** Lambda polls each shard about 4 times a second. */
const POLL_INTERVAL_MS = 250;
const SHARD_DISCOVERY_MS = 2_000;
const GET_RECORDS_LIMIT = 1_000;
const MAX_BATCH_BYTES = 6 * 1024 * 1024;
const RETRY_DELAYS_MS = [500, 1_000, 2_000, 4_000, 5_000];
const THROTTLE_BACKOFF_MS = 1_000;
/** DynamoDB Local's `ApproximateCreationDateTime` is the minute the record was written in. */
const CREATION_TIME_PRECISION_MS = 60_000;

export class DynamoDbStreamSource {
  readonly #config: DynamoDbStreamSourceConfig;
  readonly #streams: DynamoDBStreamsClient;
  readonly #ddb: DynamoDBClient;
  readonly #sqs: SQSClient;
  readonly #host: LambdaHost;
  readonly #region: string;
  readonly #functionArn: string;
  readonly #onRequest: ((operation: string) => void) | undefined;
  readonly #abort = new AbortController();
  readonly #loops: Promise<void>[] = [];
  /** Shards being read or read to their end, by id. */
  readonly #started = new Set<string>();
  readonly #done = new Set<string>();
  /** The record after which a shard's reading starts, when not at its oldest (`LATEST` at start). */
  readonly #startAfter = new Map<string, string>();
  /** DynamoDB Local's ARN of the stream (its label is the stream's creation time). */
  #localStreamArn = "";

  constructor(
    config: DynamoDbStreamSourceConfig,
    deps: {
      streams: DynamoDBStreamsClient;
      ddb: DynamoDBClient;
      sqs: SQSClient;
      host: LambdaHost;
      region: string;
      functionArn: string;
      /** Told of every SQS request the mapping makes (its on-failure records, billed to the account). */
      onRequest?: (operation: string) => void;
    },
  ) {
    this.#config = config;
    this.#streams = deps.streams;
    this.#ddb = deps.ddb;
    this.#sqs = deps.sqs;
    this.#host = deps.host;
    this.#region = deps.region;
    this.#functionArn = deps.functionArn;
    this.#onRequest = deps.onRequest;
  }

  /** Finds the stream and where to start reading it: with `LATEST`, what is written once this resolves. */
  async start(): Promise<void> {
    const table = await this.#ddb.send(new DescribeTableCommand({ TableName: this.#config.tableName }));
    const streamArn = table.Table?.LatestStreamArn;
    if (streamArn === undefined) {
      throw new Error(
        `${this.#config.logicalId}: table ${this.#config.tableName} has no stream in DynamoDB Local`,
      );
    }
    this.#localStreamArn = streamArn;
    const shards = await this.#shards();
    // `LATEST` starts after the newest record there is, read through: DynamoDB Local's `LATEST`
    // iterator is refused once a record arrives (see #readShard), and there is no sequence number to
    // go on after.
    if (this.#config.startingPosition === "LATEST") {
      for (const shard of shards) {
        const shardId = shard.ShardId ?? "";
        if (shard.SequenceNumberRange?.EndingSequenceNumber !== undefined) this.#done.add(shardId);
        else {
          const newest = await this.#newestSequence(shardId);
          if (newest !== undefined) this.#startAfter.set(shardId, newest);
        }
      }
    }
    this.#startReadyShards(shards);
    this.#loops.push(this.#discoverShards());
  }

  /** Stops reading; a batch being processed finishes (the Lambda host bounds how long). */
  async stop(): Promise<void> {
    this.#abort.abort();
    await Promise.all(this.#loops);
  }

  async #discoverShards(): Promise<void> {
    while (!this.#abort.signal.aborted) {
      await pause(SHARD_DISCOVERY_MS, this.#abort.signal);
      if (this.#abort.signal.aborted) return;
      try {
        this.#startReadyShards(await this.#shards());
      } catch (error) {
        if (this.#abort.signal.aborted) return;
        this.#report(
          `describing the stream of ${this.#config.tableName} failed: ${(error as Error).message}`,
        );
      }
    }
  }

  /** Starts each shard not read yet whose parent is read to its end (or is no longer in the stream). */
  #startReadyShards(shards: readonly Shard[]): void {
    if (this.#abort.signal.aborted) return;
    const present = new Set(shards.map((shard) => shard.ShardId));
    for (const shard of shards) {
      const shardId = shard.ShardId ?? "";
      if (this.#started.has(shardId) || this.#done.has(shardId)) continue;
      const parent = shard.ParentShardId;
      if (parent !== undefined && present.has(parent) && !this.#done.has(parent)) continue;
      this.#started.add(shardId);
      this.#loops.push(this.#readShard(shardId));
    }
  }

  async #readShard(shardId: string): Promise<void> {
    const { batchSize, batchingWindowMs } = this.#config;
    let lastRead = this.#startAfter.get(shardId);
    let iterator: string | undefined;
    let trimmed = 0;
    let batch: ReadRecord[] = [];
    let batchStartedAt = 0;
    let polledAt = 0;
    while (!this.#abort.signal.aborted) {
      try {
        // Refused twice in a row, the records up to the last one read are really gone: start over at the
        // oldest left.
        iterator ??= await this.#iterator(
          shardId,
          lastRead === undefined || trimmed >= 2 ? "TRIM_HORIZON" : { after: lastRead },
        );
        await pause(polledAt + POLL_INTERVAL_MS - Date.now(), this.#abort.signal);
        polledAt = Date.now();
        const page = await this.#streams.send(
          new GetRecordsCommand({
            ShardIterator: iterator,
            Limit: Math.min(GET_RECORDS_LIMIT, Math.max(1, batchSize - batch.length)),
          }),
          { abortSignal: this.#abort.signal },
        );
        trimmed = 0;
        iterator = page.NextShardIterator;
        const records = (page.Records ?? []).filter((record) => isAfter(record, lastRead));
        lastRead = records.at(-1)?.dynamodb?.SequenceNumber ?? lastRead;
        const wanted = records
          .map((record) => this.#readRecord(record))
          .filter((record) => this.#wanted(record));
        if (batch.length === 0) batchStartedAt = Date.now();
        batch.push(...wanted);
        const bytes = batch.reduce((sum, record) => sum + record.bytes, 0);
        const ready =
          batch.length >= batchSize ||
          bytes >= MAX_BATCH_BYTES ||
          Date.now() - batchStartedAt >= batchingWindowMs ||
          iterator === undefined;
        if (batch.length > 0 && ready) {
          await this.#deliver(shardId, batch);
          batch = [];
        }
        if (iterator === undefined) {
          this.#done.add(shardId);
          return;
        }
      } catch (error) {
        if (this.#abort.signal.aborted) return;
        // Iterators expire (after 15 minutes in AWS), and DynamoDB Local refuses one read at the shard's
        // end once a record arrives (its sequence numbers count across tables): go on after the last
        // record read.
        if (error instanceof ExpiredIteratorException || error instanceof TrimmedDataAccessException) {
          if (error instanceof TrimmedDataAccessException) trimmed += 1;
          iterator = undefined;
          continue;
        }
        this.#report(
          `reading shard ${shardId} of ${this.#config.tableName} failed: ${(error as Error).message}`,
        );
        await pause(1_000, this.#abort.signal);
      }
    }
  }

  /** The sequence number of a shard's newest record, if it has any. */
  async #newestSequence(shardId: string): Promise<string | undefined> {
    let iterator: string | undefined = await this.#iterator(shardId, "TRIM_HORIZON");
    let newest: string | undefined;
    while (iterator !== undefined) {
      const page: GetRecordsCommandOutput = await this.#streams.send(
        new GetRecordsCommand({ ShardIterator: iterator, Limit: GET_RECORDS_LIMIT }),
      );
      const records = page.Records ?? [];
      if (records.length === 0) return newest;
      newest = records.at(-1)?.dynamodb?.SequenceNumber ?? newest;
      iterator = page.NextShardIterator;
    }
    return newest;
  }

  /** Runs a batch until it succeeds or is given up on; the shard's later records wait meanwhile. */
  async #deliver(shardId: string, records: ReadRecord[]): Promise<void> {
    const { maximumRetryAttempts, bisectBatchOnFunctionError } = this.#config;
    const queue: PendingBatch[] = [{ records, invocations: 0, retries: 0 }];
    for (let batch = queue[0]; batch !== undefined; batch = queue[0]) {
      if (this.#abort.signal.aborted) return;
      const expired = this.#expired(batch.records);
      if (expired > 0) {
        await this.#giveUp(shardId, batch.records.slice(0, expired), "RecordAgeExceeded", batch.invocations);
        batch.records = batch.records.slice(expired);
        if (batch.records.length === 0) queue.shift();
        continue;
      }
      const result = await this.#host.invoke(this.#config.functionName, {
        Records: batch.records.map((record) => record.event),
      });
      if (this.#abort.signal.aborted) return;
      if (!result.ok && result.throttled === true) {
        await pause(THROTTLE_BACKOFF_MS, this.#abort.signal);
        continue;
      }
      batch.invocations += 1;
      const failedFrom = this.#failedFrom(batch.records, result);
      if (failedFrom === undefined) {
        queue.shift();
        continue;
      }
      const functionFailed = !result.ok || failedFrom.wholeBatch;
      if (functionFailed && bisectBatchOnFunctionError && batch.records.length > 1) {
        const half = Math.ceil(batch.records.length / 2);
        queue.splice(
          0,
          1,
          { records: batch.records.slice(0, half), invocations: 0, retries: batch.retries },
          { records: batch.records.slice(half), invocations: 0, retries: batch.retries },
        );
        continue;
      }
      batch.records = batch.records.slice(failedFrom.index);
      batch.retries += 1;
      if (maximumRetryAttempts >= 0 && batch.retries > maximumRetryAttempts) {
        await this.#giveUp(shardId, batch.records, "RetryAttemptsExhausted", batch.invocations, result);
        queue.shift();
        continue;
      }
      const delay = RETRY_DELAYS_MS[Math.min(batch.retries, RETRY_DELAYS_MS.length) - 1] ?? 0;
      await pause(delay, this.#abort.signal);
    }
  }

  /**
   * Where a batch's retry starts, or undefined when it succeeded: the whole batch when the function
   * failed or answered an invalid partial response, else the lowest sequence number it reported.
   */
  #failedFrom(
    records: readonly ReadRecord[],
    result: InvokeResult,
  ): { index: number; wholeBatch: boolean } | undefined {
    if (!result.ok) return { index: 0, wholeBatch: true };
    if (!this.#config.reportBatchItemFailures) return undefined;
    const sequences = records.map((record) => record.event.dynamodb.SequenceNumber);
    const reported = batchItemFailures(result.payload, new Set(sequences));
    if (reported.invalid !== undefined) {
      this.#report(`${reported.invalid}; Lambda treats the whole batch as failed`);
      return { index: 0, wholeBatch: true };
    }
    if (reported.failed.size === 0) return undefined;
    const lowest = [...reported.failed].reduce((a, b) => (BigInt(a) <= BigInt(b) ? a : b));
    return { index: sequences.indexOf(lowest), wholeBatch: false };
  }

  /** How many of a batch's oldest records are past the mapping's maximum record age. */
  #expired(records: readonly ReadRecord[]): number {
    const maxAgeSeconds = this.#config.maximumRecordAgeSeconds;
    if (maxAgeSeconds < 0) return 0;
    const cutoff = Date.now() - maxAgeSeconds * 1_000;
    const firstFresh = records.findIndex((record) => record.writtenByMs >= cutoff);
    return firstFresh === -1 ? records.length : firstFresh;
  }

  /** Sends the invocation record of records given up on to the on-failure queue, as Lambda does. */
  async #giveUp(
    shardId: string,
    records: readonly ReadRecord[],
    condition: "RetryAttemptsExhausted" | "RecordAgeExceeded",
    invocations: number,
    lastResult?: InvokeResult,
  ): Promise<void> {
    const first = records[0]?.event.dynamodb;
    const last = records.at(-1)?.event.dynamodb;
    const arrival = (seconds: number | undefined) => new Date((seconds ?? 0) * 1_000).toISOString();
    const record = {
      requestContext: {
        requestId: lastResult?.requestId ?? randomUUID(),
        functionArn: this.#functionArn,
        condition,
        approximateInvokeCount: invocations,
      },
      ...(lastResult === undefined
        ? {}
        : {
            responseContext: {
              statusCode: 200,
              executedVersion: "$LATEST",
              ...(lastResult.ok ? {} : { functionError: "Unhandled" }),
            },
          }),
      version: "1.0",
      timestamp: new Date().toISOString(),
      DDBStreamBatchInfo: {
        shardId,
        startSequenceNumber: first?.SequenceNumber,
        endSequenceNumber: last?.SequenceNumber,
        approximateArrivalOfFirstRecord: arrival(first?.ApproximateCreationDateTime),
        approximateArrivalOfLastRecord: arrival(last?.ApproximateCreationDateTime),
        batchSize: records.length,
        streamArn: this.#config.streamArn,
      },
    };
    const queueUrl = this.#config.onFailureQueueUrl;
    this.#report(
      `Lambda gave up on ${records.length} record(s) of shard ${shardId} (${condition})` +
        `${queueUrl === undefined ? "; no on-failure queue, dropped" : ", sent to the on-failure queue"}`,
    );
    if (queueUrl === undefined) return;
    this.#onRequest?.("SendMessage");
    await this.#sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(record) }));
  }

  async #shards(): Promise<Shard[]> {
    const shards: Shard[] = [];
    let startAfter: string | undefined;
    do {
      const page = await this.#streams.send(
        new DescribeStreamCommand({ StreamArn: this.#localStreamArn, ExclusiveStartShardId: startAfter }),
      );
      shards.push(...(page.StreamDescription?.Shards ?? []));
      startAfter = page.StreamDescription?.LastEvaluatedShardId;
    } while (startAfter !== undefined);
    return shards;
  }

  /** An iterator at the start or end of a shard, or just after a sequence number. */
  async #iterator(shardId: string, from: "TRIM_HORIZON" | { readonly after: string }): Promise<string> {
    const position =
      typeof from === "string"
        ? { ShardIteratorType: from }
        : { ShardIteratorType: "AFTER_SEQUENCE_NUMBER" as const, SequenceNumber: from.after };
    const result = await this.#streams.send(
      new GetShardIteratorCommand({ StreamArn: this.#localStreamArn, ShardId: shardId, ...position }),
    );
    if (result.ShardIterator === undefined) throw new Error(`no iterator for shard ${shardId}`);
    return result.ShardIterator;
  }

  #readRecord(record: _Record): ReadRecord {
    const stream = record.dynamodb ?? {};
    const createdMs = stream.ApproximateCreationDateTime?.getTime() ?? Date.now();
    const event: StreamEventRecord = {
      eventID: record.eventID ?? "",
      eventName: record.eventName ?? "",
      eventVersion: record.eventVersion ?? "1.1",
      eventSource: "aws:dynamodb",
      awsRegion: this.#region,
      dynamodb: {
        ApproximateCreationDateTime: Math.floor(createdMs / 1_000),
        Keys: lambdaImage(stream.Keys ?? {}),
        ...(stream.NewImage === undefined ? {} : { NewImage: lambdaImage(stream.NewImage) }),
        ...(stream.OldImage === undefined ? {} : { OldImage: lambdaImage(stream.OldImage) }),
        SequenceNumber: stream.SequenceNumber ?? "",
        SizeBytes: stream.SizeBytes ?? 0,
        StreamViewType: stream.StreamViewType ?? "",
      },
      eventSourceARN: this.#config.streamArn,
      ...(record.userIdentity === undefined
        ? {}
        : {
            userIdentity: {
              type: record.userIdentity.Type ?? "",
              principalId: record.userIdentity.PrincipalId ?? "",
            },
          }),
    };
    return {
      event,
      writtenByMs: Math.min(Date.now(), createdMs + CREATION_TIME_PRECISION_MS),
      bytes: Buffer.byteLength(JSON.stringify(event)),
    };
  }

  #wanted(record: ReadRecord): boolean {
    const { filters } = this.#config;
    return filters.length === 0 || filters.some((pattern) => matchesPattern(pattern, record.event));
  }

  #report(message: string): void {
    console.error(`[local] ${this.#config.logicalId}: ${message}`);
  }
}

/** An item image as the Lambda event has it: DynamoDB JSON, binary values in base64. */
function lambdaImage(image: Record<string, AttributeValue>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(image).map(([name, value]) => [name, lambdaAttributeValue(value)]),
  );
}

function lambdaAttributeValue(value: AttributeValue): Record<string, unknown> {
  const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");
  if (value.B !== undefined) return { B: base64(value.B) };
  if (value.BS !== undefined) return { BS: value.BS.map(base64) };
  if (value.M !== undefined) return { M: lambdaImage(value.M) };
  if (value.L !== undefined) return { L: value.L.map(lambdaAttributeValue) };
  const { $unknown: _, ...plain } = value;
  return plain;
}

/** Whether a record comes after a sequence number (a re-read iterator may return what was read). */
function isAfter(record: _Record, sequence: string | undefined): boolean {
  return sequence === undefined || BigInt(record.dynamodb?.SequenceNumber ?? "0") > BigInt(sequence);
}

/** Waits, or less if the mapping stops meanwhile. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
