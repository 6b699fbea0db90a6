import { CfnOutput, Stack, type StackProps } from "aws-cdk-lib";
import type { Construct } from "constructs";
import { StackOutput } from "../functions/shared/names.ts";
import { Hookline, type HooklineProps } from "./hookline.ts";

export interface HooklineStackProps extends StackProps {
  readonly hookline?: HooklineProps;
}

/** A stack holding one Hookline, with the outputs the CLI and the local runtime read. */
export class HooklineStack extends Stack {
  readonly hookline: Hookline;

  constructor(scope: Construct, id: string, props: HooklineStackProps = {}) {
    super(scope, id, props);
    this.hookline = new Hookline(this, "Hookline", props.hookline);
    // Every output but the alarm topic's is always there.
    const outputs: Record<Exclude<keyof typeof StackOutput, "alarmTopicArn">, string> & {
      alarmTopicArn?: string;
    } = {
      apiUrl: this.hookline.api.httpApi.apiEndpoint,
      webhooksTable: this.hookline.storage.webhooksTable.tableName,
      eventsTable: this.hookline.storage.eventsTable.tableName,
      deliveryQueueUrl: this.hookline.delivery.queue.queueUrl,
      priorityQueueUrl: this.hookline.delivery.priorityQueue.queueUrl,
      eventTypes: JSON.stringify(this.hookline.eventTypeNames),
      priorityEventTypes: JSON.stringify(this.hookline.priorityEventTypes),
      deadLetterQueueUrl: this.hookline.delivery.deadLetterQueue.queueUrl,
      ingestDeadLetterQueueUrl: this.hookline.ingest.deadLetterQueue.queueUrl,
      eventBusName: this.hookline.eventBus.eventBusName,
      ...(this.hookline.monitoring === undefined
        ? {}
        : { alarmTopicArn: this.hookline.monitoring.alarmTopic.topicArn }),
      deliveryLogGroupName: this.hookline.delivery.function.logGroup.logGroupName,
      retentionDays: String(this.hookline.retentionDays),
      reconcileGraceSeconds: String(this.hookline.reconcileGraceSeconds),
      settings: JSON.stringify(this.hookline.settings),
    };
    for (const [key, value] of Object.entries(outputs)) {
      if (value !== undefined) new CfnOutput(this, StackOutput[key as keyof typeof StackOutput], { value });
    }
  }
}
