import { Duration } from "aws-cdk-lib";
import { CorsHttpMethod, HttpApi, type HttpMethod } from "aws-cdk-lib/aws-apigatewayv2";
import { HttpLambdaAuthorizer, HttpLambdaResponseType } from "aws-cdk-lib/aws-apigatewayv2-authorizers";
import { HttpLambdaIntegration } from "aws-cdk-lib/aws-apigatewayv2-integrations";
import type { ITableV2 } from "aws-cdk-lib/aws-dynamodb";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import type { RetentionDays } from "aws-cdk-lib/aws-logs";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { MAX_TEST_SEND_TIMEOUT_SECONDS } from "../functions/shared/limits.ts";
import { EnvVar, IngestRoute, ManagementRoute, PublicRoute } from "../functions/shared/names.ts";
import { Setting } from "../functions/shared/settings.ts";
import { HooklineFunction } from "./function.ts";
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
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /**
   * Active X-Ray tracing on the functions.
   * @default false
   */
  readonly tracing?: boolean;
}

function splitRouteKey(routeKey: string): { method: HttpMethod; path: string } {
  const [method, path] = routeKey.split(" ");
  if (!method || !path) throw new Error(`malformed route key: ${routeKey}`);
  return { method: method as HttpMethod, path };
}

/** The HTTP API: a Lambda authorizer resolving API keys to tenants, the management routes, and publish. */
export class HooklineApi extends Construct {
  readonly httpApi: HttpApi;
  readonly managementFunction: HooklineFunction;
  readonly authorizerFunction: HooklineFunction;

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
    props.webhooksTable.grantReadData(this.authorizerFunction);

    this.managementFunction = new HooklineFunction(this, "ManagementFunction", {
      entry: "api/handler.ts",
      description: "Hookline: the webhook management API",
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
    props.webhooksTable.grantReadWriteData(this.managementFunction);
    props.eventsTable.grantReadWriteData(this.managementFunction);
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
    });

    for (const routeKey of Object.values(ManagementRoute)) {
      const { method, path } = splitRouteKey(routeKey);
      this.httpApi.addRoutes({ path, methods: [method], integration: management, authorizer });
    }
    for (const routeKey of Object.values(PublicRoute)) {
      const { method, path } = splitRouteKey(routeKey);
      this.httpApi.addRoutes({ path, methods: [method], integration: management });
    }
    const ingest = new HttpLambdaIntegration("IngestIntegration", props.ingestFunction);
    for (const routeKey of Object.values(IngestRoute)) {
      const { method, path } = splitRouteKey(routeKey);
      this.httpApi.addRoutes({ path, methods: [method], integration: ingest, authorizer });
    }
  }
}
