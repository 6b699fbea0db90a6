import path from "node:path";
import { Duration, RemovalPolicy } from "aws-cdk-lib";
import { AccessLogFormat } from "aws-cdk-lib/aws-apigateway";
import {
  CorsHttpMethod,
  HttpApi,
  type HttpMethod,
  HttpStage,
  LogGroupLogDestination,
} from "aws-cdk-lib/aws-apigatewayv2";
import { HttpLambdaAuthorizer, HttpLambdaResponseType } from "aws-cdk-lib/aws-apigatewayv2-authorizers";
import { HttpLambdaIntegration } from "aws-cdk-lib/aws-apigatewayv2-integrations";
import type { ITableV2 } from "aws-cdk-lib/aws-dynamodb";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import type { EventTypeDefinition } from "../functions/shared/event-catalogue.ts";
import { MAX_TEST_SEND_TIMEOUT_SECONDS } from "../functions/shared/limits.ts";
import {
  BY_TIME_INDEX,
  CONSOLE_ASSETS_FOLDER,
  ConsoleRoute,
  EnvVar,
  IngestRoute,
  ManagementRoute,
  OPEN_CIRCUITS_INDEX,
  PublicRoute,
  WebhooksPartition,
} from "../functions/shared/names.ts";
import { Setting } from "../functions/shared/settings.ts";
import { acknowledge } from "./acknowledge.ts";
import { HooklineFunction, projectRoot } from "./function.ts";
import { grantTableAccess } from "./table-access.ts";
import { checkProps, secondsOf } from "./validate.ts";

export interface HooklineApiProps {
  readonly webhooksTable: ITableV2;
  readonly eventsTable: ITableV2;
  readonly ingestFunction: IFunction;
  /** Where manual retries are queued; its depth is reported by the health route. */
  readonly deliveryQueue: IQueue;
  /** The priority lane's queue, for high-priority event types. */
  readonly priorityQueue: IQueue;
  /** Only its depth is read, by the health route. */
  readonly deadLetterQueue: IQueue;
  readonly environment: Readonly<Record<string, string>>;
  /** The event-type catalogue with its data schemas, written into the function's bundle. */
  readonly eventCatalogue: readonly EventTypeDefinition[];
  /** How long a rotated-out signing secret keeps signing, next to the new one: at most 30 days. */
  readonly secretRotationOverlapSeconds: number;
  /**
   * How long a test send waits for an endpoint whose webhook sets no timeout of its own (at most
   * 20 s, whatever this says: a test send answers inside an API request).
   * @default Duration.seconds(10)
   */
  readonly attemptTimeout?: Duration;
  /**
   * How long API Gateway caches an API key's authorizer answer; a revoked key works for at most this
   * long. At most an hour.
   * @default Duration.seconds(60)
   */
  readonly authorizerCacheTtl?: Duration;
  /**
   * Requests per second the API accepts in the long run, all callers together, before it answers 429.
   * @default 1000
   */
  readonly throttlingRateLimit?: number;
  /**
   * Requests the API accepts at once above `throttlingRateLimit` before it answers 429.
   * @default 2000
   */
  readonly throttlingBurstLimit?: number;
  /** @default RetentionDays.ONE_MONTH (the functions' and the access log's) */
  readonly logRetention?: RetentionDays;
  /**
   * Active X-Ray tracing on the functions.
   * @default false
   */
  readonly tracing?: boolean;
}

/** The stage's throttling when no prop says otherwise; exported so tests can check the defaults. */
export const DEFAULT_API_THROTTLING = { rateLimit: 1000, burstLimit: 2000 } as const;

/**
 * One JSON line per request. The route key rather than the path, so that no query string (cursors)
 * and no id lands in the log; the tenant, so an operator can tell who is sending what.
 */
const ACCESS_LOG_FORMAT = JSON.stringify({
  requestId: "$context.requestId",
  time: "$context.requestTime",
  ip: "$context.identity.sourceIp",
  routeKey: "$context.routeKey",
  status: "$context.status",
  responseLength: "$context.responseLength",
  latencyMs: "$context.responseLatency",
  integrationLatencyMs: "$context.integrationLatency",
  tenantId: "$context.authorizer.tenantId",
  authorizerError: "$context.authorizer.error",
  integrationError: "$context.integrationErrorMessage",
});

function splitRouteKey(routeKey: string): { method: HttpMethod; path: string } {
  const [method, path] = routeKey.split(" ");
  if (!method || !path) throw new Error(`malformed route key: ${routeKey}`);
  return { method: method as HttpMethod, path };
}

/** The HTTP API: a Lambda authorizer resolving API keys to tenants, the management routes, and publish. */
export class HooklineApi extends Construct {
  readonly httpApi: HttpApi;
  /** The `$default` stage, throttled and access-logged. */
  readonly stage: HttpStage;
  readonly accessLogGroup: LogGroup;
  readonly managementFunction: HooklineFunction;
  readonly authorizerFunction: HooklineFunction;
  /** Serves the web console's static files at `/console/`. */
  readonly consoleFunction: HooklineFunction;

  constructor(scope: Construct, id: string, props: HooklineApiProps) {
    super(scope, id);
    checkProps("HooklineApi", [
      [
        "secretRotationOverlapSeconds",
        Setting.secretRotationOverlapSeconds,
        props.secretRotationOverlapSeconds,
      ],
      ["attemptTimeout", Setting.attemptTimeoutSeconds, secondsOf(props.attemptTimeout)],
      ["authorizerCacheTtl", Setting.authorizerCacheTtlSeconds, secondsOf(props.authorizerCacheTtl)],
    ]);
    const attemptTimeout = props.attemptTimeout ?? Duration.seconds(Setting.attemptTimeoutSeconds.default);
    const functionOptions = {
      ...(props.logRetention === undefined ? {} : { logRetention: props.logRetention }),
      ...(props.tracing === undefined ? {} : { tracing: props.tracing }),
    };

    this.authorizerFunction = new HooklineFunction(this, "AuthorizerFunction", {
      entry: "authorizer/handler.ts",
      description: "Hookline: resolves API keys to tenants",
      environment: props.environment,
      ...functionOptions,
    });
    // One item per request, API keys and the key portal tokens are signed with: never a webhook or its
    // signing secret.
    grantTableAccess(this.authorizerFunction, props.webhooksTable, {
      actions: ["GetItem"],
      leadingKeys: [`${WebhooksPartition.apiKey}*`, WebhooksPartition.config],
    });

    this.managementFunction = new HooklineFunction(this, "ManagementFunction", {
      entry: "api/handler.ts",
      description: "Hookline: the webhook management API",
      bundledSettings: { [EnvVar.eventCatalogue]: JSON.stringify(props.eventCatalogue) },
      // A test send may wait up to its cap for the endpoint; API Gateway's own limit is 30 s.
      timeout: Duration.seconds(MAX_TEST_SEND_TIMEOUT_SECONDS + 5),
      environment: {
        ...props.environment,
        [EnvVar.deliveryTimeoutSeconds]: String(attemptTimeout.toSeconds()),
        [EnvVar.secretRotationOverlapSeconds]: String(props.secretRotationOverlapSeconds),
        [EnvVar.deliveryQueueUrl]: props.deliveryQueue.queueUrl,
        [EnvVar.priorityQueueUrl]: props.priorityQueue.queueUrl,
        [EnvVar.deadLetterQueueUrl]: props.deadLetterQueue.queueUrl,
      },
      ...functionOptions,
    });
    // Tenants' webhooks (transactions put, update and delete them with the subscriptions item) and the
    // cursor key; never an API key. The open-circuits index for the health details.
    grantTableAccess(this.managementFunction, props.webhooksTable, {
      actions: ["GetItem", "Query", "PutItem", "UpdateItem", "DeleteItem"],
      leadingKeys: [`${WebhooksPartition.tenant}*`, WebhooksPartition.config],
      queriedIndexes: [OPEN_CIRCUITS_INDEX],
    });
    // Reads history and stats; writes only to reopen a delivery for a retry or a recover.
    grantTableAccess(this.managementFunction, props.eventsTable, {
      actions: ["GetItem", "Query", "UpdateItem"],
      queriedIndexes: [BY_TIME_INDEX],
    });
    // Sending includes sqs:GetQueueAttributes, which the health route needs.
    props.deliveryQueue.grantSendMessages(this.managementFunction);
    props.priorityQueue.grantSendMessages(this.managementFunction);
    props.deadLetterQueue.grant(this.managementFunction, "sqs:GetQueueAttributes");

    const authorizer = new HttpLambdaAuthorizer("ApiKeyAuthorizer", this.authorizerFunction, {
      responseTypes: [HttpLambdaResponseType.SIMPLE],
      identitySource: ["$request.header.Authorization"],
      resultsCacheTtl:
        props.authorizerCacheTtl ?? Duration.seconds(Setting.authorizerCacheTtlSeconds.default),
    });

    const management = new HttpLambdaIntegration("ManagementIntegration", this.managementFunction);
    this.httpApi = new HttpApi(this, "HttpApi", {
      description: "Hookline webhook API",
      // The `$default` route: what no other route takes goes to the management function, without the
      // authorizer, which answers 404 or 405 in the API's error shape (API Gateway's own 404 is
      // `{"message":"Not Found"}`). Unauthenticated on purpose: an unknown route reveals nothing the
      // public OpenAPI document does not, and a caller learns it is a wrong route, not a wrong key.
      defaultIntegration: management,
      corsPreflight: {
        allowMethods: [CorsHttpMethod.ANY],
        allowHeaders: ["authorization", "content-type"],
        allowOrigins: ["*"],
      },
      // The stage is declared below, where it can have throttling and access logs.
      createDefaultStage: false,
    });
    this.accessLogGroup = new LogGroup(this, "AccessLogs", {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const rateLimit = props.throttlingRateLimit ?? DEFAULT_API_THROTTLING.rateLimit;
    const burstLimit = props.throttlingBurstLimit ?? DEFAULT_API_THROTTLING.burstLimit;
    if (!(rateLimit > 0) || !Number.isInteger(burstLimit) || burstLimit < 1) {
      throw new Error(
        "HooklineApi: throttlingRateLimit must be above 0 and throttlingBurstLimit a whole number of at least 1",
      );
    }
    this.stage = new HttpStage(this, "DefaultStage", {
      httpApi: this.httpApi,
      stageName: "$default",
      autoDeploy: true,
      throttle: { rateLimit, burstLimit },
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogGroup),
        format: AccessLogFormat.custom(ACCESS_LOG_FORMAT),
      },
    });

    for (const routeKey of Object.values(ManagementRoute)) {
      const { method, path } = splitRouteKey(routeKey);
      this.httpApi.addRoutes({ path, methods: [method], integration: management, authorizer });
    }
    for (const routeKey of Object.values(PublicRoute)) {
      const { method, path } = splitRouteKey(routeKey);
      for (const route of this.httpApi.addRoutes({ path, methods: [method], integration: management })) {
        acknowledge(route, {
          "AwsSolutions-APIG4": "public on purpose: liveness and the OpenAPI document, which read nothing",
        });
      }
    }
    acknowledge(this.httpApi.node.findChild("DefaultRoute"), {
      "AwsSolutions-APIG4":
        "answers only 404 or 405 in the API's error shape, reading nothing (see FALLBACK_ROUTE)",
    });
    // Its own function, not the management one: no SDK, no table, so a small bundle and a short cold
    // start, and the management function's stay as the benchmark measures them. The console is built by
    // the same esbuild, into the bundle's folder, so it ships in this function's asset.
    this.consoleFunction = new HooklineFunction(this, "ConsoleFunction", {
      entry: "console-assets/handler.ts",
      description: "Hookline: serves the web console's static files",
      // The logging and metrics names every function has, and nothing else: it reads no table.
      environment: Object.fromEntries(
        Object.entries(props.environment).filter(
          ([name]) => name === EnvVar.logLevel || name === EnvVar.metricsNamespace,
        ),
      ),
      memorySize: 256,
      afterBundling: (outputDir) => [
        `"${process.execPath}" "${path.join(projectRoot, "console", "build.ts")}" "${path.join(outputDir, CONSOLE_ASSETS_FOLDER)}"`,
      ],
      ...functionOptions,
    });
    const consoleAssets = new HttpLambdaIntegration("ConsoleIntegration", this.consoleFunction);
    for (const routeKey of Object.values(ConsoleRoute)) {
      const { method, path: routePath } = splitRouteKey(routeKey);
      for (const route of this.httpApi.addRoutes({
        path: routePath,
        methods: [method],
        integration: consoleAssets,
      })) {
        acknowledge(route, {
          "AwsSolutions-APIG4":
            "public on purpose: the console's static files, the same for everyone; its API calls carry a key",
        });
      }
    }
    for (const fn of [this.authorizerFunction, this.managementFunction, this.consoleFunction]) {
      acknowledge(fn, {
        "Serverless-LambdaDLQ": "invoked synchronously by API Gateway, which answers the caller",
      });
    }
    const ingest = new HttpLambdaIntegration("IngestIntegration", props.ingestFunction);
    for (const routeKey of Object.values(IngestRoute)) {
      const { method, path } = splitRouteKey(routeKey);
      this.httpApi.addRoutes({ path, methods: [method], integration: ingest, authorizer });
    }
  }
}
