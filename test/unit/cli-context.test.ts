import { describe, expect, it } from "vitest";
import { recordSettingsOf } from "../../bin/cli/context.ts";
import { StackOutput } from "../../functions/shared/names.ts";

const stack = (outputs: Record<string, string>) => ({ description: "stack Prod", outputs });

describe("the deployment settings the CLI writes records with", () => {
  it("come from the stack's outputs, not the defaults", () => {
    expect(
      recordSettingsOf(
        stack({ [StackOutput.retentionDays]: "7", [StackOutput.reconcileGraceSeconds]: "20" }),
      ),
    ).toEqual({ retentionDays: 7, reconcileGraceSeconds: 20 });
  });

  it("refuse a stack without them, naming the missing output", () => {
    expect(() => recordSettingsOf(stack({ [StackOutput.reconcileGraceSeconds]: "20" }))).toThrow(
      `stack Prod has no ${StackOutput.retentionDays} output`,
    );
  });

  it.each([
    ["0", "300"],
    ["30", "abc"],
    ["3651", "300"],
    ["30", "86401"],
  ])("refuse retention %j and grace %j, naming the output and its range", (retention, grace) => {
    let thrown: unknown;
    try {
      recordSettingsOf(
        stack({ [StackOutput.retentionDays]: retention, [StackOutput.reconcileGraceSeconds]: grace }),
      );
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(Error);
    expect((thrown as Error).message).toMatch(
      /^stack Prod output (RetentionDays|ReconcileGraceSeconds)="[^"]*": must be a whole number, at least 1 (s|day) and at most (3650 days|1 day)$/,
    );
  });
});
