/**
 * AWS list prices for us-east-1 that the cost model uses, in USD.
 *
 * Dated 2026-11-25, transcribed from the public pricing pages named on each line (on-demand, no free
 * tier, first volume tier). This machine cannot reach those pages, so the figures are the ones published
 * in 2025 and were not re-checked on that date: check them against the pages before relying on them, and
 * update `PRICES_DATE` with the figures.
 */
export const PRICES_DATE = "2026-11-25";
export const PRICES_REGION = "us-east-1";

export interface Prices {
  /** "AWS Lambda pricing", Arm price, duration per GB-second (first 7.5 billion GB-s a month). */
  readonly lambdaArmPerGbSecond: number;
  /** "AWS Lambda pricing", requests, per request ($0.20 per 1M). */
  readonly lambdaPerRequest: number;
  /** "Amazon SQS pricing", standard queue, per request ($0.40 per 1M, each 64 KB chunk one request). */
  readonly sqsPerRequest: number;
  /** "Amazon DynamoDB pricing for on-demand capacity", write request unit ($0.625 per 1M). */
  readonly dynamodbPerWriteUnit: number;
  /** "Amazon DynamoDB pricing for on-demand capacity", read request unit ($0.125 per 1M). */
  readonly dynamodbPerReadUnit: number;
  /** "AWS Step Functions pricing", Standard workflows, per state transition ($0.025 per 1,000). */
  readonly stepFunctionsPerTransition: number;
  /** "Amazon API Gateway pricing", HTTP APIs, per request ($1.00 per 1M, first 300M). */
  readonly httpApiPerRequest: number;
  /** "Amazon EventBridge pricing", custom events published, per event ($1.00 per 1M). */
  readonly eventBridgePerEvent: number;
  /** "Amazon CloudWatch pricing", Logs, standard ingestion, per GB ($0.50). */
  readonly logsIngestionPerGb: number;
}

export const PRICES: Prices = {
  lambdaArmPerGbSecond: 0.0000133334,
  lambdaPerRequest: 0.2 / 1e6,
  sqsPerRequest: 0.4 / 1e6,
  dynamodbPerWriteUnit: 0.625 / 1e6,
  dynamodbPerReadUnit: 0.125 / 1e6,
  stepFunctionsPerTransition: 0.025 / 1e3,
  httpApiPerRequest: 1.0 / 1e6,
  eventBridgePerEvent: 1.0 / 1e6,
  logsIngestionPerGb: 0.5,
};
