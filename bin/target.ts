import { readFileSync } from "node:fs";
import path from "node:path";
import { CloudFormationClient, DescribeStacksCommand } from "@aws-sdk/client-cloudformation";
import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { StackOutput } from "../functions/shared/names.ts";

/** A running Hookline, local or deployed, as the operator commands see it. */
export interface Target {
  readonly description: string;
  readonly outputs: Readonly<Record<string, string>>;
  readonly ddb: DynamoDBDocumentClient;
  readonly sqs: SQSClient;
  readonly eventBridge: EventBridgeClient;
  /** Where the function logs are: the local runtime's `/_local/logs`, or CloudWatch Logs. */
  readonly logs: { readonly local: string } | { readonly cloudWatch: CloudWatchLogsClient };
  /** The HTTP API's address, and for the local stack the development key `npm start` made. */
  readonly api?: { readonly url: string; readonly key?: string };
  /** The stack's name, and how it runs: the local stack's process, or CloudFormation's status. */
  readonly stack: { readonly name: string } & (
    | { readonly local: { readonly file: string; readonly pid?: number } }
    | { readonly cloudFormationStatus: string }
  );
}

/**
 * With `--stack NAME`, the deployed stack's outputs (the usual AWS credentials and region apply);
 * otherwise the local stack started by `npm start`, from `<HOOKLINE_DIR or .hookline>/local.json`.
 */
export async function resolveTarget(stackName: string | undefined): Promise<Target> {
  if (stackName) {
    const { Stacks } = await new CloudFormationClient({}).send(
      new DescribeStacksCommand({ StackName: stackName }),
    );
    const outputs = Object.fromEntries(
      (Stacks?.[0]?.Outputs ?? []).map((o) => [o.OutputKey ?? "", o.OutputValue ?? ""]),
    );
    const apiUrl = outputs[StackOutput.apiUrl];
    return {
      description: `stack ${stackName}`,
      stack: { name: stackName, cloudFormationStatus: Stacks?.[0]?.StackStatus ?? "unknown" },
      outputs,
      ddb: DynamoDBDocumentClient.from(new DynamoDBClient({})),
      sqs: new SQSClient({}),
      eventBridge: new EventBridgeClient({}),
      logs: { cloudWatch: new CloudWatchLogsClient({}) },
      ...(apiUrl ? { api: { url: apiUrl } } : {}),
    };
  }
  const file = path.resolve(process.env.HOOKLINE_DIR ?? ".hookline", "local.json");
  let local: {
    apiUrl: string;
    apiKey?: string | null;
    outputs: Record<string, string>;
    endpoints: { dynamodb: string; sqs: string; eventbridge: string };
    stackName?: string;
    pid?: number;
  };
  try {
    local = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    throw new Error(
      `no local stack found (${file} is missing): start one with "npm start", or pass --stack NAME`,
    );
  }
  const emulator = (endpoint: string) => ({
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  return {
    description: "the local stack",
    stack: {
      name: local.stackName ?? "unnamed",
      local: { file, ...(typeof local.pid === "number" ? { pid: local.pid } : {}) },
    },
    outputs: local.outputs,
    ddb: DynamoDBDocumentClient.from(new DynamoDBClient(emulator(local.endpoints.dynamodb))),
    sqs: new SQSClient(emulator(local.endpoints.sqs)),
    eventBridge: new EventBridgeClient(emulator(local.endpoints.eventbridge)),
    logs: { local: `${local.apiUrl}/_local/logs` },
    api: { url: local.apiUrl, ...(local.apiKey ? { key: local.apiKey } : {}) },
  };
}

/** A stack output the command needs, or a clear error naming the stack that lacks it. */
export function requireOutput(target: Pick<Target, "description" | "outputs">, name: string): string {
  const value = target.outputs[name];
  if (!value) throw new Error(`${target.description} has no ${name} output`);
  return value;
}
