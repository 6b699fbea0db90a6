import { RemovalPolicy } from "aws-cdk-lib";
import { AttributeType, Billing, ProjectionType, TableV2 } from "aws-cdk-lib/aws-dynamodb";
import { Construct } from "constructs";
import {
  BY_TIME_INDEX,
  DUE_INDEX,
  OPEN_CIRCUITS_INDEX,
  PARKED_INDEX,
  TableKey,
} from "../functions/shared/names.ts";

export interface HooklineStorageProps {
  /**
   * What happens to the tables when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Hookline's two tables, on-demand with point-in-time recovery:
 * - webhooks: tenants' webhooks and API keys (kept until deleted), with a sparse index of the
 *   webhooks whose circuit is not closed (for the health route's count);
 * - events: events and their deliveries, which expire through TTL after the retention period. Two
 *   sparse indexes hold only records that are waiting: those whose next step is due by a deadline (the
 *   reconciler's work list) and deliveries parked on an open circuit.
 */
export class HooklineStorage extends Construct {
  readonly webhooksTable: TableV2;
  readonly eventsTable: TableV2;

  constructor(scope: Construct, id: string, props: HooklineStorageProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const common = {
      partitionKey: { name: TableKey.partition, type: AttributeType.STRING },
      sortKey: { name: TableKey.sort, type: AttributeType.STRING },
      billing: Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy,
    };
    this.webhooksTable = new TableV2(this, "WebhooksTable", {
      ...common,
      globalSecondaryIndexes: [
        {
          indexName: OPEN_CIRCUITS_INDEX,
          partitionKey: { name: TableKey.openCircuit, type: AttributeType.STRING },
          projectionType: ProjectionType.KEYS_ONLY,
        },
      ],
    });
    this.eventsTable = new TableV2(this, "EventsTable", {
      ...common,
      timeToLiveAttribute: TableKey.expiresAt,
      globalSecondaryIndexes: [
        {
          indexName: BY_TIME_INDEX,
          partitionKey: { name: TableKey.byTimePartition, type: AttributeType.STRING },
          sortKey: { name: TableKey.byTimeSort, type: AttributeType.STRING },
        },
        {
          indexName: DUE_INDEX,
          partitionKey: { name: TableKey.dueShard, type: AttributeType.STRING },
          sortKey: { name: TableKey.dueAt, type: AttributeType.STRING },
        },
        {
          indexName: PARKED_INDEX,
          partitionKey: { name: TableKey.parkedOn, type: AttributeType.STRING },
          sortKey: { name: TableKey.parkedSort, type: AttributeType.STRING },
        },
      ],
    });
  }
}
