import { Logger } from "@aws-lambda-powertools/logger";
import { SERVICE_NAME } from "../shared/names.ts";

/** The one logger of a function; correlation keys (tenant, event, delivery, webhook ids) are appended per request. */
export const logger = new Logger({ serviceName: SERVICE_NAME });
