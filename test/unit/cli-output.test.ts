import { describe, expect, it } from "vitest";
import { deadLetterTable, describeDeadLetter } from "../../bin/cli/dlq.ts";
import { formatDuration, formatFields, formatTable, tableOrEmpty, truncated } from "../../bin/cli/output.ts";

describe("CLI tables", () => {
  it("pads each column to its widest cell, two spaces apart, without trailing blanks", () => {
    expect(
      formatTable(
        ["ID", "STATUS", "NOTE"],
        [
          ["a", "delivered", ""],
          ["longer-id", "failed", "x"],
        ],
      ),
    ).toEqual(["ID         STATUS     NOTE", "a          delivered", "longer-id  failed     x"]);
  });

  it("cuts a long cell to its width with an ellipsis, and leaves a short one alone", () => {
    const filter = JSON.stringify({
      data: { plan: ["pro", "enterprise"], amount: [{ numeric: [">=", 100] }] },
    });
    expect(truncated(filter, 40)).toBe(`${filter.slice(0, 39)}…`);
    expect(truncated(filter, 40)).toHaveLength(40);
    expect(truncated('{"type":["a.b"]}', 40)).toBe('{"type":["a.b"]}');
  });

  it("treats a short row as empty cells, and says so when there are no rows", () => {
    expect(formatTable(["A", "B"], [["1"]])).toEqual(["A  B", "1"]);
    expect(tableOrEmpty(["A"], [], "nothing here")).toEqual(["nothing here"]);
  });

  it("aligns record fields and leaves out absent ones", () => {
    expect(
      formatFields([
        ["id", "wh_1"],
        ["disabled because", undefined],
        ["event types", "a, b"],
      ]),
    ).toEqual(["id:           wh_1", "event types:  a, b"]);
  });

  it("prints durations in ms below a second, in seconds above", () => {
    expect(formatDuration(87.4)).toBe("87 ms");
    expect(formatDuration(1234)).toBe("1.2 s");
    expect(formatDuration(undefined)).toBe("");
  });

  it("shows dead letters Hookline wrote by delivery, and any other message by its id and body", () => {
    const delivery = describeDeadLetter(
      "m1",
      JSON.stringify({
        deliveryId: "msg_1",
        webhookId: "wh_1",
        tenantId: "t",
        attempt: 6,
        lastError: "HTTP 500",
      }),
    );
    const foreign = describeDeadLetter("m2", "not json");
    expect(deadLetterTable([delivery, foreign])).toEqual([
      "DELIVERY      WEBHOOK  TENANT  ATTEMPTS  DEAD-LETTERED              LAST ERROR",
      "msg_1         wh_1     t       6         (from the delivery queue)  HTTP 500",
      "(message m2)                                                        not json",
    ]);
    expect(deadLetterTable([])).toEqual(["the dead-letter queue is empty"]);
  });
});
