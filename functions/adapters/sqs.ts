import { SQSClient } from "@aws-sdk/client-sqs";

import { traced } from "./tracing.ts";

export const sqs = traced(new SQSClient({}));
