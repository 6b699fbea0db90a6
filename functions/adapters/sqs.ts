import { SQSClient } from "@aws-sdk/client-sqs";
import { counted } from "./request-counter.ts";
import { traced } from "./tracing.ts";

export const sqs = counted(traced(new SQSClient({})), "SQS");
