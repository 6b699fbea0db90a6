import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import type {
  APIGatewayRequestAuthorizerEventV2,
  APIGatewaySimpleAuthorizerWithContextResult,
} from "aws-lambda";
import { tenantForApiKey } from "../adapters/api-keys.ts";
import { loadConfig } from "../adapters/config.ts";
import { dynamoExistingCursorKey } from "../adapters/cursor-key.ts";
import { dynamodb } from "../adapters/dynamodb.ts";
import { logger } from "../adapters/logger.ts";
import { traceHandler } from "../adapters/tracing.ts";
import { isPortalToken, type PortalScope, portalKey, verifyPortalToken } from "../domain/portal-token.ts";
import type { AuthorizerContext } from "../http/http.ts";

const config = loadConfig(["webhooksTable"]);
const cursorKey = dynamoExistingCursorKey(dynamodb, config.webhooksTable);
const BEARER = /^Bearer\s+(\S+)$/i;

type AuthorizerResult = APIGatewaySimpleAuthorizerWithContextResult<AuthorizerContext>;

async function portalScope(token: string): Promise<PortalScope | undefined> {
  const key = await cursorKey();
  return key === undefined ? undefined : verifyPortalToken(portalKey(key), token, new Date());
}

async function authorize(event: APIGatewayRequestAuthorizerEventV2): Promise<AuthorizerResult> {
  const header = event.headers?.authorization ?? event.headers?.Authorization ?? "";
  const credential = BEARER.exec(header)?.[1];
  // Which routes a portal token may use is the management function's to check: this answer is cached
  // per Authorization header, whatever the route (functions/domain/portal-token.ts).
  if (credential !== undefined && isPortalToken(credential)) {
    const scope = await portalScope(credential);
    if (scope !== undefined) {
      return {
        isAuthorized: true,
        context: { tenantId: scope.tenantId, portalScope: JSON.stringify(scope) },
      };
    }
    logger.info("request refused: portal token expired, altered or unknown");
    return { isAuthorized: true, context: { refused: "invalid_api_key" } };
  }
  const tenantId = credential
    ? await tenantForApiKey({ ddb: dynamodb, tableName: config.webhooksTable }, credential)
    : undefined;
  if (!tenantId) {
    logger.info("request refused: unknown, revoked or malformed API key");
    // Allowed with a flag, not denied: the route's function answers 401 in the API's error shape (a deny
    // could only be API Gateway's bare 403). See RefusedContext in functions/http/http.ts.
    return { isAuthorized: true, context: { refused: "invalid_api_key" } };
  }
  return { isAuthorized: true, context: { tenantId } };
}

/** The HTTP API's Lambda authorizer: resolves a bearer API key, or a portal link's token, to its tenant. */
export const handler = middy(authorize)
  .use(traceHandler())
  .use(injectLambdaContext(logger, { resetKeys: true }));
