/**
 * Lambda's SQS event source mapping, done locally: pollers receive batches (long polling, up to
 * `BatchSize`, gathering for `MaximumBatchingWindowInSeconds`), drop messages that fail the mapping's
 * filters, invoke the function with a real SQS event and delete what succeeded:
 *
 * - with `ReportBatchItemFailures`, everything not listed in `batchItemFailures` (an invalid response
 *   fails the whole batch);
 * - without it, the whole batch when the invocation succeeds;
 * - nothing when the invocation fails, times out or is throttled: the messages come back after the
 *   queue's visibility timeout, and the emulator moves them to the dead-letter queue after
 *   `maxReceiveCount`.
 *
 * `ScalingConfig.MaximumConcurrency` bounds the concurrent pollers (default: 5, or fewer if the
 * function's pool is smaller).
 *
 * Each invocation runs with a trace header counting its chain of SQS → Lambda invocations. With loop
 * detection on, a message that would start the 17th invocation of its chain is not handed to a function
 * whose `RecursiveLoop` is not `Allow`: it moves to the queue's dead-letter queue, or, without one,
 * comes back after the visibility timeout to be stopped again (loop-detection.ts).
 */
import {
  DeleteMessageBatchCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { matchesPattern } from "../functions/domain/event-pattern.ts";
import { batchItemFailures } from "./batch-item-failures.ts";
import { isDynamoDbStreamArn } from "./dynamodb-stream-source.ts";
import type { IntrinsicResolver } from "./intrinsics.ts";
import type { LambdaHost } from "./lambda-host.ts";
import { CHAIN_DEPTH_ATTRIBUTE, MAX_CHAIN_INVOCATIONS, traceHeader } from "./loop-detection.ts";
import type { LocalNames } from "./physical-names.ts";
import { type CfnTemplate, isRecord, props, resourcesOfType } from "./template.ts";

export interface SqsEventSourceConfig {
  readonly logicalId: string;
  readonly functionName: string;
  readonly queueArn: string;
  readonly queueUrl: string;
  readonly batchSize: number;
  readonly batchingWindowMs: number;
  readonly reportBatchItemFailures: boolean;
  readonly maximumConcurrency?: number;
  /** The queue's dead-letter queue (its `RedrivePolicy`), if it has one. */
  readonly deadLetterQueueUrl?: string;
  /** Parsed `FilterCriteria` patterns; a message must match one of them (when there are any). */
  readonly filters: readonly unknown[];
}

/** The SQS event source mappings of the template; `skipped` explains the ones that are not emulated. */
export function sqsEventSources(
  template: CfnTemplate,
  resolver: IntrinsicResolver,
  names: LocalNames,
): { sources: SqsEventSourceConfig[]; skipped: string[] } {
  const sources: SqsEventSourceConfig[] = [];
  const skipped: string[] = [];
  const queues = new Map<string, string>();
  const deadLetterTargets = new Map<string, string>();
  for (const { logicalId, resource } of resourcesOfType(template, "AWS::SQS::Queue")) {
    const values = names.valuesOf(logicalId, resource);
    if (values?.attributes.Arn === undefined || values.ref === undefined) continue;
    queues.set(values.attributes.Arn, values.ref);
    const redrive = resolver.resolve(props(resource).RedrivePolicy ?? {}, `RedrivePolicy of ${logicalId}`);
    const policy = typeof redrive === "string" ? (JSON.parse(redrive) as unknown) : redrive;
    if (isRecord(policy) && typeof policy.deadLetterTargetArn === "string")
      deadLetterTargets.set(values.attributes.Arn, policy.deadLetterTargetArn);
  }
  for (const { logicalId, resource } of resourcesOfType(template, "AWS::Lambda::EventSourceMapping")) {
    const p = props(resource);
    const where = `event source mapping ${logicalId}`;
    const sourceArn = resolver.resolveString(p.EventSourceArn, `EventSourceArn of ${where}`);
    // A DynamoDB stream's mapping is dynamodb-stream-source.ts's to run or report.
    if (isDynamoDbStreamArn(sourceArn)) continue;
    const queueUrl = queues.get(sourceArn);
    if (queueUrl === undefined) {
      skipped.push(`${where}: source ${sourceArn} is not an SQS queue of the stack; not emulated`);
      continue;
    }
    if (p.Enabled === false || p.Enabled === "false") {
      skipped.push(`${where}: disabled`);
      continue;
    }
    const criteria = resolver.resolve(p.FilterCriteria ?? {}, `FilterCriteria of ${where}`);
    const filters = isRecord(criteria) && Array.isArray(criteria.Filters) ? criteria.Filters : [];
    const scaling = isRecord(p.ScalingConfig) ? p.ScalingConfig : {};
    sources.push({
      logicalId,
      functionName: resolver.resolveString(p.FunctionName, `FunctionName of ${where}`),
      queueArn: sourceArn,
      queueUrl,
      batchSize: Number(p.BatchSize ?? 10),
      batchingWindowMs: Number(p.MaximumBatchingWindowInSeconds ?? 0) * 1_000,
      reportBatchItemFailures:
        Array.isArray(p.FunctionResponseTypes) && p.FunctionResponseTypes.includes("ReportBatchItemFailures"),
      maximumConcurrency:
        scaling.MaximumConcurrency === undefined ? undefined : Number(scaling.MaximumConcurrency),
      deadLetterQueueUrl: queues.get(deadLetterTargets.get(sourceArn) ?? ""),
      filters: filters.map((filter: unknown) => JSON.parse(String(isRecord(filter) ? filter.Pattern : "{}"))),
    });
  }
  return { sources, skipped };
}

const LONG_POLL_SECONDS = 20;
const MAX_BATCH_BYTES = 6 * 1024 * 1024;
const THROTTLE_BACKOFF_MS = 1_000;

export class SqsEventSource {
  readonly #config: SqsEventSourceConfig;
  readonly #sqs: SQSClient;
  readonly #host: LambdaHost;
  readonly #region: string;
  readonly #pollers: number;
  readonly #abort = new AbortController();
  readonly #loops: Promise<void>[] = [];
  readonly #onRequest: ((operation: string) => void) | undefined;
  readonly #stopsLoops: boolean;

  constructor(
    config: SqsEventSourceConfig,
    deps: {
      sqs: SQSClient;
      host: LambdaHost;
      region: string;
      pollers: number;
      /** Stop chains at their 17th invocation: loop detection on, and the function's loops not allowed. */
      stopsLoops?: boolean;
      /** Told of every SQS request the mapping makes (Lambda's pollers' requests are billed to the account). */
      onRequest?: (operation: string) => void;
    },
  ) {
    this.#config = config;
    this.#onRequest = deps.onRequest;
    this.#sqs = deps.sqs;
    this.#host = deps.host;
    this.#region = deps.region;
    this.#pollers = deps.pollers;
    this.#stopsLoops = deps.stopsLoops === true;
  }

  start(): void {
    for (let index = 0; index < this.#pollers; index++) this.#loops.push(this.#poll());
  }

  /** Stops receiving; batches being processed finish (the Lambda host bounds how long). */
  async stop(): Promise<void> {
    this.#abort.abort();
    await Promise.all(this.#loops);
  }

  async #poll(): Promise<void> {
    while (!this.#abort.signal.aborted) {
      try {
        const messages = await this.#collect();
        if (messages.length > 0) await this.#process(messages);
      } catch (error) {
        if (this.#abort.signal.aborted) return;
        console.error(
          `[local] ${this.#config.logicalId}: polling ${this.#config.queueUrl} failed:`,
          (error as Error).message,
        );
        await sleep(1_000);
      }
    }
  }

  async #collect(): Promise<Message[]> {
    const { batchSize, batchingWindowMs } = this.#config;
    const batch = await this.#receive(Math.min(10, batchSize), LONG_POLL_SECONDS);
    const deadline = Date.now() + batchingWindowMs;
    let bytes = batch.reduce((sum, message) => sum + (message.Body?.length ?? 0), 0);
    while (batch.length > 0 && batch.length < batchSize && bytes < MAX_BATCH_BYTES && Date.now() < deadline) {
      const waitSeconds = Math.min(LONG_POLL_SECONDS, Math.floor((deadline - Date.now()) / 1_000));
      const more = await this.#receive(Math.min(10, batchSize - batch.length), waitSeconds);
      batch.push(...more);
      bytes += more.reduce((sum, message) => sum + (message.Body?.length ?? 0), 0);
      if (more.length === 0 && waitSeconds === 0)
        await sleep(Math.min(100, Math.max(0, deadline - Date.now())));
    }
    return batch;
  }

  async #receive(maxMessages: number, waitSeconds: number): Promise<Message[]> {
    this.#onRequest?.("ReceiveMessage");
    const received = await this.#sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: this.#config.queueUrl,
        MaxNumberOfMessages: maxMessages,
        WaitTimeSeconds: waitSeconds,
        MessageSystemAttributeNames: ["All"],
        MessageAttributeNames: ["All"],
      }),
      { abortSignal: this.#abort.signal },
    );
    return received.Messages ?? [];
  }

  async #process(messages: Message[]): Promise<void> {
    const records = messages.map((message) => this.#record(message));
    const { filters } = this.#config;
    const wanted =
      filters.length === 0 ? records : records.filter((record) => passesFilters(record, filters));
    const filteredOut = records.filter((record) => !wanted.includes(record));
    if (filteredOut.length > 0) await this.#delete(filteredOut.map((record) => record.receiptHandle));
    const depths = new Map(messages.map((message, index) => [records[index], chainDepthOf(message)]));
    const depthOf = (record: SqsRecord) => depths.get(record) ?? 0;
    const stopped = this.#stopsLoops
      ? wanted.filter((record) => depthOf(record) >= MAX_CHAIN_INVOCATIONS)
      : [];
    if (stopped.length > 0) {
      await this.#stopLoop(
        messages.filter((_message, index) => stopped.includes(records[index] as SqsRecord)),
      );
    }
    const invoked = wanted.filter((record) => !stopped.includes(record));
    if (invoked.length === 0) return;

    // A batch continues its deepest chain.
    const depth = Math.max(...invoked.map(depthOf));
    const result = await this.#host.invoke(
      this.#config.functionName,
      { Records: invoked },
      { traceHeader: traceHeader(depth + 1) },
    );
    if (!result.ok) {
      // The whole batch comes back after the visibility timeout, a throttled one too (each counts as a
      // receive); on a throttle Lambda's pollers also back off.
      if (result.throttled === true) await sleep(THROTTLE_BACKOFF_MS);
      return;
    }
    const outcome = succeededMessages(invoked, result.payload, this.#config.reportBatchItemFailures);
    if (outcome.invalid !== undefined) {
      console.error(
        `[local] ${this.#config.logicalId}: ${outcome.invalid}; Lambda treats the whole batch as failed`,
      );
    }
    await this.#delete(outcome.succeeded.map((record) => record.receiptHandle));
  }

  /** What Lambda does with a message that would run a recursive loop on: dead-letter it, if it can. */
  async #stopLoop(messages: readonly Message[]): Promise<void> {
    const deadLetterQueueUrl = this.#config.deadLetterQueueUrl;
    console.error(
      `[local] ${this.#config.logicalId}: Lambda stopped a recursive loop of ${this.#config.functionName} ` +
        `after ${MAX_CHAIN_INVOCATIONS} invocations (${messages.length} message(s)` +
        `${deadLetterQueueUrl === undefined ? ", left on the queue: it has no dead-letter queue" : " moved to the dead-letter queue"})`,
    );
    if (deadLetterQueueUrl === undefined) return;
    for (let start = 0; start < messages.length; start += 10) {
      const chunk = messages.slice(start, start + 10);
      this.#onRequest?.("SendMessageBatch");
      const result = await this.#sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: deadLetterQueueUrl,
          Entries: chunk.map((message, index) => ({
            Id: String(index),
            MessageBody: message.Body ?? "",
            MessageAttributes: withoutChainDepth(message),
          })),
        }),
      );
      const failed = new Set((result.Failed ?? []).map((failure) => Number(failure.Id)));
      const moved = chunk.filter((_message, index) => !failed.has(index));
      await this.#delete(moved.map((message) => message.ReceiptHandle ?? ""));
    }
  }

  async #delete(receiptHandles: string[]): Promise<void> {
    for (let start = 0; start < receiptHandles.length; start += 10) {
      const entries = receiptHandles.slice(start, start + 10).map((handle, index) => ({
        Id: String(start + index),
        ReceiptHandle: handle,
      }));
      this.#onRequest?.("DeleteMessageBatch");
      const result = await this.#sqs.send(
        new DeleteMessageBatchCommand({ QueueUrl: this.#config.queueUrl, Entries: entries }),
      );
      for (const failure of result.Failed ?? []) {
        console.error(
          `[local] ${this.#config.logicalId}: could not delete a message: ${failure.Message ?? failure.Code}`,
        );
      }
    }
  }

  #record(message: Message): SqsRecord {
    return {
      messageId: message.MessageId ?? "",
      receiptHandle: message.ReceiptHandle ?? "",
      body: message.Body ?? "",
      attributes: { ...message.Attributes },
      messageAttributes: Object.fromEntries(
        Object.entries(withoutChainDepth(message)).map(([name, value]) => [name, lambdaAttribute(value)]),
      ),
      md5OfBody: message.MD5OfBody ?? "",
      ...(message.MD5OfMessageAttributes === undefined
        ? {}
        : { md5OfMessageAttributes: message.MD5OfMessageAttributes }),
      eventSource: "aws:sqs",
      eventSourceARN: this.#config.queueArn,
      awsRegion: this.#region,
    };
  }
}

/**
 * Which messages of a successfully invoked batch to delete: all of them, or, with
 * `ReportBatchItemFailures`, those not listed in `batchItemFailures` (batch-item-failures.ts).
 */
export function succeededMessages<T extends { readonly messageId: string }>(
  records: readonly T[],
  payload: unknown,
  reportBatchItemFailures: boolean,
): { succeeded: T[]; invalid?: string } {
  if (!reportBatchItemFailures) return { succeeded: [...records] };
  const reported = batchItemFailures(payload, new Set(records.map((record) => record.messageId)));
  if (reported.invalid !== undefined) return { succeeded: [], invalid: reported.invalid };
  return { succeeded: records.filter((record) => !reported.failed.has(record.messageId)) };
}

interface SqsRecord {
  readonly messageId: string;
  readonly receiptHandle: string;
  readonly body: string;
  readonly attributes: Record<string, string>;
  readonly messageAttributes: Record<string, unknown>;
  readonly md5OfBody: string;
  readonly md5OfMessageAttributes?: string;
  readonly eventSource: "aws:sqs";
  readonly eventSourceARN: string;
  readonly awsRegion: string;
}

/** How many invocations of its chain led to a message (0 when no function sent it). */
function chainDepthOf(message: Message): number {
  const value = Number(message.MessageAttributes?.[CHAIN_DEPTH_ATTRIBUTE]?.StringValue ?? 0);
  return Number.isInteger(value) && value > 0 ? value : 0;
}

/** A message's own attributes: the chain depth is the local runtime's, never the function's to see. */
function withoutChainDepth(message: Message): Record<string, MessageAttributeValue> {
  const { [CHAIN_DEPTH_ATTRIBUTE]: _, ...attributes } = message.MessageAttributes ?? {};
  return attributes;
}

/** The Lambda event's shape of a message attribute (camel-case, binary as base64). */
function lambdaAttribute(value: MessageAttributeValue): Record<string, unknown> {
  const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");
  return {
    ...(value.StringValue === undefined ? {} : { stringValue: value.StringValue }),
    ...(value.BinaryValue === undefined ? {} : { binaryValue: base64(value.BinaryValue) }),
    stringListValues: value.StringListValues ?? [],
    binaryListValues: (value.BinaryListValues ?? []).map(base64),
    dataType: value.DataType ?? "String",
  };
}

/** Lambda filters match the record with a JSON body parsed into an object. */
function passesFilters(record: SqsRecord, filters: readonly unknown[]): boolean {
  let body: unknown = record.body;
  try {
    body = JSON.parse(record.body);
  } catch {
    // a plain-text body is matched as a string
  }
  return filters.some((pattern) => matchesPattern(pattern, { ...record, body }));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
