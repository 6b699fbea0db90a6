/**
 * Lambda's rules for a partial batch response (`FunctionResponseTypes: ["ReportBatchItemFailures"]`),
 * the same for queues and streams: no response, no list or an empty list is a full success; a response
 * that is not an object, a list that is not a list, or an item identifier that is empty or not in the
 * batch fails the whole batch.
 */
import { isRecord } from "./template.ts";

export type BatchItemFailures =
  | { readonly failed: ReadonlySet<string>; readonly invalid?: undefined }
  | { readonly failed?: undefined; readonly invalid: string };

/** The item identifiers a function reported as failed, out of the identifiers of the batch it was given. */
export function batchItemFailures(payload: unknown, identifiers: ReadonlySet<string>): BatchItemFailures {
  if (payload === null || payload === undefined) return { failed: new Set() };
  if (!isRecord(payload)) return { invalid: `the function returned ${JSON.stringify(payload)}` };
  const failures = payload.batchItemFailures;
  if (failures === undefined || failures === null) return { failed: new Set() };
  if (!Array.isArray(failures)) return { invalid: "batchItemFailures is not a list" };
  const failed = new Set<string>();
  for (const failure of failures) {
    const id = isRecord(failure) ? failure.itemIdentifier : undefined;
    if (typeof id !== "string" || !identifiers.has(id)) {
      return { invalid: `batchItemFailures has an invalid itemIdentifier ${JSON.stringify(id)}` };
    }
    failed.add(id);
  }
  return { failed };
}
