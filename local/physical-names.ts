/**
 * The local physical names, URLs and ARNs of the template's resources: what `Ref` and `Fn::GetAtt`
 * return on this machine. A resource's name is the one the template sets (`TableName`, `QueueName`, …)
 * or else its logical id, which is unique in the stack and stable across synths.
 */
import { createHash } from "node:crypto";
import type { IntrinsicResolver, LocalResourceValues, ResourceValues } from "./intrinsics.ts";
import type { CfnResource } from "./template.ts";

export interface LocalEndpoints {
  /** Base URL of the SQS emulator; queue URLs are `<sqs>/<account>/<name>`. */
  readonly sqs: string;
  /** Base URL of the local HTTP API, without a trailing slash. */
  readonly api: string;
}

export interface LocalNamesOptions {
  readonly region: string;
  readonly accountId: string;
  readonly endpoints: LocalEndpoints;
}

export class LocalNames implements ResourceValues {
  readonly #options: LocalNamesOptions;
  #resolver: IntrinsicResolver | undefined;
  readonly #apiIds = new Set<string>();

  constructor(options: LocalNamesOptions) {
    this.#options = options;
  }

  /** Names set in the template may themselves be intrinsics; they are resolved with this resolver. */
  bind(resolver: IntrinsicResolver): void {
    this.#resolver = resolver;
  }

  /** The local queue URL of a queue name. */
  queueUrl(name: string): string {
    return `${this.#options.endpoints.sqs}/${this.#options.accountId}/${name}`;
  }

  rewrite(value: string): string {
    for (const apiId of this.#apiIds) {
      const remote = `https://${apiId}.execute-api.${this.#options.region}.amazonaws.com`;
      if (value.startsWith(remote)) return this.#options.endpoints.api + value.slice(remote.length);
    }
    return value;
  }

  valuesOf(logicalId: string, resource: CfnResource): LocalResourceValues | undefined {
    const { region, accountId } = this.#options;
    const p = resource.Properties ?? {};
    const named = (property: string, fallback: string = logicalId): string =>
      p[property] === undefined ? fallback : this.#name(p[property], `${property} of ${logicalId}`);
    const arn = (service: string, rest: string, withRegion = true): string =>
      `arn:aws:${service}:${withRegion ? region : ""}:${accountId}:${rest}`;

    switch (resource.Type) {
      case "AWS::DynamoDB::Table":
      case "AWS::DynamoDB::GlobalTable": {
        const name = named("TableName");
        const tableArn = arn("dynamodb", `table/${name}`);
        return { ref: name, attributes: { Arn: tableArn, StreamArn: `${tableArn}/stream/local` } };
      }
      case "AWS::SQS::Queue": {
        const fifo = p.FifoQueue === true || p.FifoQueue === "true";
        const name = named("QueueName", fifo ? `${logicalId}.fifo` : logicalId);
        const url = this.queueUrl(name);
        return { ref: url, attributes: { Arn: arn("sqs", name), QueueName: name, QueueUrl: url } };
      }
      case "AWS::Lambda::Function": {
        const name = named("FunctionName");
        return { ref: name, attributes: { Arn: arn("lambda", `function:${name}`) } };
      }
      case "AWS::StepFunctions::StateMachine": {
        const name = named("StateMachineName");
        const machineArn = arn("states", `stateMachine:${name}`);
        return { ref: machineArn, attributes: { Arn: machineArn, Name: name } };
      }
      case "AWS::Events::EventBus": {
        const name = named("Name");
        return { ref: name, attributes: { Arn: arn("events", `event-bus/${name}`), Name: name } };
      }
      case "AWS::Events::Rule": {
        const name = named("Name");
        return { ref: name, attributes: { Arn: arn("events", `rule/${name}`) } };
      }
      case "AWS::ApiGatewayV2::Api": {
        const apiId = localId(logicalId);
        this.#apiIds.add(apiId);
        return { ref: apiId, attributes: { ApiId: apiId, ApiEndpoint: this.#options.endpoints.api } };
      }
      case "AWS::ApiGatewayV2::Stage":
        return { ref: named("StageName"), attributes: {} };
      case "AWS::ApiGatewayV2::Integration":
      case "AWS::ApiGatewayV2::Route":
      case "AWS::ApiGatewayV2::Authorizer":
        return { ref: localId(logicalId), attributes: {} };
      case "AWS::IAM::Role": {
        const name = named("RoleName");
        return {
          ref: name,
          attributes: { Arn: arn("iam", `role/${name}`, false), RoleId: localId(logicalId) },
        };
      }
      case "AWS::IAM::Policy":
      case "AWS::IAM::ManagedPolicy":
      case "AWS::Lambda::Permission":
      case "AWS::Lambda::EventSourceMapping":
      case "AWS::Lambda::EventInvokeConfig":
      case "AWS::SQS::QueuePolicy":
        return { ref: localId(logicalId), attributes: {} };
      case "AWS::Logs::LogGroup": {
        const name = named("LogGroupName");
        return { ref: name, attributes: { Arn: arn("logs", `log-group:${name}:*`) } };
      }
      case "AWS::SNS::Topic": {
        const name = named("TopicName");
        const topicArn = arn("sns", name);
        return { ref: topicArn, attributes: { TopicArn: topicArn, TopicName: name } };
      }
      case "AWS::S3::Bucket": {
        const name = named("BucketName", logicalId.toLowerCase());
        return {
          ref: name,
          attributes: { Arn: `arn:aws:s3:::${name}`, DomainName: `${name}.s3.amazonaws.com` },
        };
      }
      // DynamoDB Local ignores server-side encryption; the key only needs an ARN to be referred to.
      case "AWS::KMS::Key": {
        const keyId = localId(logicalId);
        return { ref: keyId, attributes: { Arn: arn("kms", `key/${keyId}`), KeyId: keyId } };
      }
      case "AWS::SSM::Parameter":
        return { ref: named("Name"), attributes: {} };
      case "AWS::CloudWatch::Alarm": {
        const name = named("AlarmName");
        return { ref: name, attributes: { Arn: arn("cloudwatch", `alarm:${name}`) } };
      }
      default:
        return undefined;
    }
  }

  #name(value: unknown, where: string): string {
    if (typeof value === "string") return value;
    if (this.#resolver === undefined) throw new Error(`${where} needs a resolver`);
    return this.#resolver.resolveString(value, where);
  }
}

/** A short, stable, lowercase id derived from a logical id (API Gateway ids look like `a1b2c3d4e5`). */
export function localId(logicalId: string): string {
  return createHash("sha256").update(logicalId).digest("hex").slice(0, 10);
}

/** The function name in an ARN or an API Gateway integration URI that embeds one. */
export function functionNameFromArn(value: string): string | undefined {
  return /:function:([^:/]+)/.exec(value)?.[1];
}
