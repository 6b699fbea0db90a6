import { SFNClient } from "@aws-sdk/client-sfn";

import { traced } from "./tracing.ts";

export const sfn = traced(new SFNClient({}));
