import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import { loadConfig } from "../adapters/config.ts";
import {
  deliveryLanes,
  sqsDeliveryQueue,
  sqsFanOutContinuation,
  sqsLaneBacklogs,
  sqsQueueSends,
} from "../adapters/delivery-queue.ts";
import { dynamodb } from "../adapters/dynamodb.ts";
import { logger } from "../adapters/logger.ts";
import { metrics, publishMetrics } from "../adapters/metrics.ts";
import { retryRunState } from "../adapters/retry-workflow.ts";
import { sfn } from "../adapters/sfn.ts";
import { sqs } from "../adapters/sqs.ts";
import { dynamoStores } from "../adapters/stores.ts";
import { traceHandler } from "../adapters/tracing.ts";
import { type ReconcileDeps, reconcile } from "../services/reconcile.ts";
import { OPEN_CIRCUIT_COUNT_CAP } from "../shared/limits.ts";

const config = loadConfig([
  "webhooksTable",
  "eventsTable",
  "deliveryQueueUrl",
  "eventTypes",
  "retentionDays",
  "reconcileGraceSeconds",
  "fanOutPageSize",
  "priorityQueueUrl",
  "deadLetterQueueUrl",
  "retryStateMachineArn",
]);
const stores = dynamoStores(dynamodb, config);
const lanes = deliveryLanes(config);

const deps: ReconcileDeps = {
  due: stores.due,
  publish: {
    catalogue: config.eventTypes,
    events: stores.events,
    subscribers: stores.webhooks,
    deliveries: stores.deliveries,
    queue: sqsDeliveryQueue(sqs, lanes),
    continueLater: sqsFanOutContinuation(sqs, lanes),
    now: () => new Date(),
  },
  circuits: stores.webhooks,
  openCircuitCountCap: OPEN_CIRCUIT_COUNT_CAP,
  backlogs: sqsLaneBacklogs(sqs, lanes),
  deliveries: stores.deliveries,
  sendToDeadLetterQueue: sqsQueueSends(sqs, lanes, config.deadLetterQueueUrl).sendToDeadLetterQueue,
  retryRunState: (runName) => retryRunState(sfn, config.retryStateMachineArn, runName),
  graceSeconds: config.reconcileGraceSeconds,
  now: () => new Date(),
  log: logger,
  metrics,
};

export const handler = middy(() => reconcile(deps))
  .use(traceHandler())
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(publishMetrics());
