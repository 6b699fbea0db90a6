import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import * as z from "zod";
import { changeCounts, type DeliveryImage, type StreamChange, streamSequence } from "../domain/stats.ts";
import {
  DELIVERY_SORT_PREFIX,
  DELIVERY_STATUS_ATTRIBUTE,
  DeliveryStatusName,
  TableKey,
} from "../shared/names.ts";

const Image = z.record(
  z.string(),
  z.custom<AttributeValue>((value) => typeof value === "object" && value !== null),
);

/** What the stats function reads of a DynamoDB Streams event (Lambda's event source mapping). */
export const StreamEventSchema = z.object({
  Records: z.array(
    z.object({
      eventName: z.enum(["INSERT", "MODIFY", "REMOVE"]),
      dynamodb: z.object({
        Keys: Image,
        SequenceNumber: z.string().regex(/^\d{1,40}$/),
        /** Epoch seconds. */
        ApproximateCreationDateTime: z.number().optional(),
        OldImage: Image.optional(),
        NewImage: Image.optional(),
      }),
    }),
  ),
});

export type StreamRecord = z.infer<typeof StreamEventSchema>["Records"][number];

const KeysSchema = z.object({ [TableKey.partition]: z.string(), [TableKey.sort]: z.string() });

/** A delivery record's attributes the counters depend on (delivery-store.ts writes them). */
const DeliveryItemSchema = z
  .object({
    tenant_id: z.string(),
    webhook_id: z.string(),
    [DELIVERY_STATUS_ATTRIBUTE]: z.enum(DeliveryStatusName),
    attempt_count: z.number().int().nonnegative(),
    duration_ms: z.number().nonnegative().optional(),
    updated_at: z.iso.datetime().optional(),
    completed_at: z.iso.datetime().optional(),
  })
  .transform(
    (item): DeliveryImage => ({
      tenantId: item.tenant_id,
      webhookId: item.webhook_id,
      status: item[DELIVERY_STATUS_ATTRIBUTE],
      attemptCount: item.attempt_count,
      ...(item.duration_ms === undefined ? {} : { durationMs: item.duration_ms }),
      ...(item.updated_at === undefined ? {} : { updatedAt: item.updated_at }),
      ...(item.completed_at === undefined ? {} : { completedAt: item.completed_at }),
    }),
  );

/** A delivery record's image, or undefined for none or an item that is not a delivery record. */
function deliveryImage(image: Record<string, AttributeValue> | undefined): DeliveryImage | undefined {
  if (image === undefined) return undefined;
  const item = unmarshall(image);
  return DELIVERY_STATUS_ATTRIBUTE in item ? DeliveryItemSchema.parse(item) : undefined;
}

/**
 * What one stream record changes in the counters: nothing for an item that is not a delivery record
 * (the mapping's filter keeps most of them away). Throws when a delivery record's image cannot be read.
 */
export function streamChange(record: StreamRecord, now: Date): StreamChange {
  const { Keys, SequenceNumber, ApproximateCreationDateTime, OldImage, NewImage } = record.dynamodb;
  const keys = KeysSchema.parse(unmarshall(Keys));
  const delivery = keys[TableKey.sort].startsWith(DELIVERY_SORT_PREFIX);
  const at = ApproximateCreationDateTime === undefined ? now : new Date(ApproximateCreationDateTime * 1000);
  return {
    lane: keys[TableKey.partition],
    sequenceNumber: SequenceNumber,
    sequence: streamSequence(SequenceNumber),
    increments: delivery ? changeCounts(deliveryImage(OldImage), deliveryImage(NewImage), at) : [],
  };
}
