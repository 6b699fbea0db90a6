import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { mergeShardReads, type ShardRead } from "../../functions/adapters/shard-merge.ts";

const entries = (...sorts: string[]) => sorts.map((sort) => ({ sort, value: sort }));

describe("a page merged from shards read side by side", () => {
  it("keeps only what every shard is known to hold, newest first, and goes on past the frontier", () => {
    const reads: ShardRead<string>[] = [
      { entries: entries("09", "07", "05"), frontier: "05" },
      { entries: entries("08", "03") },
      { entries: entries("06", "04"), frontier: "04" },
    ];

    // Below 05 the first shard is not known: 04 and 03 wait for the next page.
    expect(mergeShardReads(reads, 10, "descending")).toEqual({
      values: ["09", "08", "07", "06", "05"],
      lastSort: "05",
    });
    expect(mergeShardReads(reads, 3, "descending")).toEqual({ values: ["09", "08", "07"], lastSort: "07" });
  });

  it("merges oldest first the same way", () => {
    const reads: ShardRead<string>[] = [
      { entries: entries("01", "04"), frontier: "04" },
      { entries: entries("02", "03", "05") },
    ];
    expect(mergeShardReads(reads, 10, "ascending")).toEqual({
      values: ["01", "02", "03", "04"],
      lastSort: "04",
    });
  });

  it("says nothing more is left when every shard was read to its end", () => {
    expect(mergeShardReads([{ entries: entries("2") }, { entries: entries("1") }], 2, "descending")).toEqual({
      values: ["2", "1"],
    });
  });

  it("pages through every entry exactly once, in order, whatever the shards hold (property)", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 999 }), { maxLength: 60 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 7 }),
        (ids, shardCount, limit) => {
          const sorts = ids.map((id) => String(id).padStart(3, "0"));
          const shards = Array.from({ length: shardCount }, (_, shard) =>
            sorts.filter((_sort, index) => index % shardCount === shard).sort((a, b) => (a < b ? 1 : -1)),
          );
          const seen: string[] = [];
          let after: string | undefined;
          for (let page = 0; page <= sorts.length + 1; page += 1) {
            // Each shard read as a store would: past the cursor, up to `limit`, its frontier when it goes on.
            const reads = shards.map((shard) => {
              const rest = shard.filter((sort) => after === undefined || sort < after);
              const taken = rest.slice(0, limit);
              const last = taken.at(-1);
              return rest.length > limit && last !== undefined
                ? { entries: entries(...taken), frontier: last }
                : { entries: entries(...taken) };
            });
            const merged = mergeShardReads(reads, limit, "descending");
            seen.push(...merged.values);
            if (merged.lastSort === undefined) break;
            after = merged.lastSort;
          }
          expect(seen).toEqual([...sorts].sort((a, b) => (a < b ? 1 : -1)));
        },
      ),
    );
  });
});
