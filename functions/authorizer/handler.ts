import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import type {
  APIGatewayRequestAuthorizerEventV2,
  APIGatewaySimpleAuthorizerWithContextResult,
} from "aws-lambda";
import { tenantForApiKey } from "../adapters/api-keys.ts";
import { loadConfig } from "../adapters/config.ts";
import { dynamodb } from "../adapters/dynamodb.ts";
import { logger } from "../adapters/logger.ts";
import { traceHandler } from "../adapters/tracing.ts";
import type { AuthorizerContext } from "../http/http.ts";

const config = loadConfig(["webhooksTable"]);
const BEARER = /^Bearer\s+(\S+)$/i;

type AuthorizerResult = APIGatewaySimpleAuthorizerWithContextResult<AuthorizerContext>;

async function authorize(event: APIGatewayRequestAuthorizerEventV2): Promise<AuthorizerResult> {
  const header = event.headers?.authorization ?? event.headers?.Authorization ?? "";
  const apiKey = BEARER.exec(header)?.[1];
  const tenantId = apiKey
    ? await tenantForApiKey({ ddb: dynamodb, tableName: config.webhooksTable }, apiKey)
    : undefined;
  if (!tenantId) {
    logger.info("request refused: unknown, revoked or malformed API key");
    // Allowed with a flag, not denied: the route's function answers 401 in the API's error shape (a deny
    // could only be API Gateway's bare 403). See RefusedContext in functions/http/http.ts.
    return { isAuthorized: true, context: { refused: "invalid_api_key" } };
  }
  return { isAuthorized: true, context: { tenantId } };
}

/** The HTTP API's Lambda authorizer: resolves a bearer API key to its tenant. */
export const handler = middy(authorize)
  .use(traceHandler())
  .use(injectLambdaContext(logger, { resetKeys: true }));
