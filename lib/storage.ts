import { RemovalPolicy, Stack, Token } from "aws-cdk-lib";
import {
  AttributeType,
  Billing,
  type CfnGlobalTable,
  ProjectionType,
  StreamViewType,
  TableEncryptionV2,
  TableV2,
} from "aws-cdk-lib/aws-dynamodb";
import type { IGrantable } from "aws-cdk-lib/aws-iam";
import { type IKey, Key } from "aws-cdk-lib/aws-kms";
import { Construct } from "constructs";
import {
  BY_TIME_INDEX,
  BY_TIME_PROJECTION,
  DUE_INDEX,
  OPEN_CIRCUITS_INDEX,
  PARKED_INDEX,
  TableKey,
} from "../functions/shared/names.ts";

export interface HooklineStorageProps {
  /**
   * What happens to the tables when the stack is deleted. Unless it is `RemovalPolicy.DESTROY`, the
   * tables also have deletion protection, so that not even a direct `DeleteTable` removes them.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * The customer-managed KMS key the webhooks table (which holds the signing secrets) is encrypted with.
   * @default - a new key with yearly rotation, kept on stack deletion like the tables
   */
  readonly encryptionKey?: IKey;
}

/**
 * Hookline's two tables, on-demand with point-in-time recovery:
 * - webhooks: tenants' webhooks and API keys (kept until deleted), with a sparse index of the
 *   webhooks whose circuit is not closed (for the health route's count); the settings a webhook
 *   change replaced, which its deliveries' requests are shown with, expire through TTL with them;
 * - events: events and their deliveries, which expire through TTL after the retention period. Two
 *   sparse indexes hold only records that are waiting: those whose next step is due by a deadline (the
 *   reconciler's work list) and deliveries parked on an open circuit. Its stream (new and old images)
 *   feeds the webhooks' stats counters.
 */
export class HooklineStorage extends Construct {
  readonly webhooksTable: TableV2;
  readonly eventsTable: TableV2;
  /** The customer-managed key of the webhooks table. */
  readonly webhooksTableKey: IKey;

  constructor(scope: Construct, id: string, props: HooklineStorageProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const common = {
      partitionKey: { name: TableKey.partition, type: AttributeType.STRING },
      sortKey: { name: TableKey.sort, type: AttributeType.STRING },
      billing: Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy,
      // Asking for DESTROY (a test stack) asks for the tables to go with the stack: protection would stop it.
      deletionProtection: removalPolicy !== RemovalPolicy.DESTROY,
    };
    this.webhooksTableKey =
      props.encryptionKey ??
      new Key(this, "WebhooksTableKey", {
        description: "Hookline: encrypts the webhooks table (signing secrets, API keys)",
        enableKeyRotation: true,
        removalPolicy,
      });
    // TableV2 renders a customer-managed key only when the stack has a region (it cannot tell a
    // replica's region from the deployment's otherwise). Hookline's stack is region-agnostic by
    // default: there the table is declared KMS-encrypted and the primary replica's key is set directly.
    // A single region either way, so no `replicaKeyArns`.
    const regionKnown = !Token.isUnresolved(Stack.of(this).region);
    this.webhooksTable = new TableV2(this, "WebhooksTable", {
      ...common,
      // Only the replaced settings have the attribute: webhooks and API keys never expire.
      timeToLiveAttribute: TableKey.expiresAt,
      encryption: regionKnown
        ? TableEncryptionV2.customerManagedKey(this.webhooksTableKey)
        : TableEncryptionV2.awsManagedKey(),
      globalSecondaryIndexes: [
        {
          indexName: OPEN_CIRCUITS_INDEX,
          partitionKey: { name: TableKey.openCircuit, type: AttributeType.STRING },
          projectionType: ProjectionType.KEYS_ONLY,
        },
      ],
    });
    if (!regionKnown) {
      (this.webhooksTable.node.defaultChild as CfnGlobalTable).addPropertyOverride(
        "Replicas.0.SSESpecification.KMSMasterKeyId",
        this.webhooksTableKey.keyArn,
      );
    }
    this.eventsTable = new TableV2(this, "EventsTable", {
      ...common,
      timeToLiveAttribute: TableKey.expiresAt,
      // The delivery records' changes, both images: the stats function counts them (lib/stats.ts).
      dynamoStream: StreamViewType.NEW_AND_OLD_IMAGES,
      globalSecondaryIndexes: [
        {
          indexName: BY_TIME_INDEX,
          partitionKey: { name: TableKey.byTimePartition, type: AttributeType.STRING },
          sortKey: { name: TableKey.byTimeSort, type: AttributeType.STRING },
          projectionType: ProjectionType.INCLUDE,
          nonKeyAttributes: [...BY_TIME_PROJECTION],
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

  /**
   * Lets a function that was granted access to the webhooks table use its key: what DynamoDB needs
   * from the caller to read (`readWrite: false`) or write encrypted items. Always needed: the functions'
   * table access is granted action by action, not through the table's grants.
   */
  grantWebhooksKey(grantee: IGrantable, readWrite: boolean): void {
    if (readWrite) this.webhooksTableKey.grantEncryptDecrypt(grantee);
    else this.webhooksTableKey.grantDecrypt(grantee);
  }
}
