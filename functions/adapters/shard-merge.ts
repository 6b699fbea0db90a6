/**
 * One listing page out of several partitions read side by side (a key family spread over shards). Each
 * partition was read in sort order up to `limit` entries, and its frontier is the sort key it was read
 * to when it goes on beyond (absent when it was read to its end). Past the frontier closest to the
 * start, some partition is not known, so the page keeps only what lies before it: every entry there
 * is known, in order.
 */
export interface ShardRead<Value> {
  readonly entries: readonly { readonly sort: string; readonly value: Value }[];
  readonly frontier?: string;
}

export interface MergedPage<Value> {
  readonly values: Value[];
  /** Where the next page starts (exclusive), when there may be more. */
  readonly lastSort?: string;
}

export function mergeShardReads<Value>(
  reads: readonly ShardRead<Value>[],
  limit: number,
  order: "descending" | "ascending",
): MergedPage<Value> {
  const before = (a: string, b: string) => (order === "descending" ? a > b : a < b);
  const frontier = reads.reduce<string | undefined>(
    (closest, read) =>
      read.frontier !== undefined && (closest === undefined || before(read.frontier, closest))
        ? read.frontier
        : closest,
    undefined,
  );
  const known = reads
    .flatMap((read) => read.entries)
    .filter((entry) => frontier === undefined || !before(frontier, entry.sort))
    .sort((a, b) => (before(a.sort, b.sort) ? -1 : 1));
  const values = known.slice(0, limit).map((entry) => entry.value);
  // The next page starts past the page's last entry when more are known, and past the frontier when
  // every known entry is on this page but some partition goes on.
  const lastSort = known.length > limit ? known[limit - 1]?.sort : frontier;
  return lastSort === undefined ? { values } : { values, lastSort };
}
