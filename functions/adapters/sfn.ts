import { SFNClient } from "@aws-sdk/client-sfn";
import { counted } from "./request-counter.ts";
import { traced } from "./tracing.ts";

export const sfn = counted(traced(new SFNClient({})), "StepFunctions");
