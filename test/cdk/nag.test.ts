import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { App, Stack, Validations } from "aws-cdk-lib";
import { Queue } from "aws-cdk-lib/aws-sqs";
import { AwsSolutionsChecks, ServerlessChecks } from "cdk-nag";
import { afterEach, describe, expect, it } from "vitest";
import { HooklineStack, type HooklineStackProps } from "../../lib/hookline-stack.ts";

const outdirs: string[] = [];
afterEach(() => {
  for (const dir of outdirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/**
 * An app checked by cdk-nag's AwsSolutions and Serverless packs: synthesis throws, with the report, on any
 * finding, error or warning, that is not acknowledged with a reason next to its construct.
 */
function checkedApp(): App {
  const outdir = mkdtempSync(path.join(tmpdir(), "hookline-nag-"));
  outdirs.push(outdir);
  const app = new App({ outdir, context: { "aws:cdk:bundling-stacks": [] } });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
  return app;
}

function synthesizeChecked(props: HooklineStackProps = {}): void {
  const app = checkedApp();
  new HooklineStack(app, "Hookline", props);
  app.synth();
}

describe("cdk-nag", () => {
  it("finds nothing unexplained in the default stack", () => {
    expect(() => synthesizeChecked()).not.toThrow();
  });

  it("finds nothing unexplained with tracing on, in a stack with a region", () => {
    expect(() =>
      synthesizeChecked({ env: { region: "eu-west-1" }, hookline: { tracing: true } }),
    ).not.toThrow();
  });

  it("fails synthesis on a finding nobody acknowledged", () => {
    const app = checkedApp();
    new Queue(new Stack(app, "Bare"), "Queue");
    expect(() => app.synth()).toThrow(/AwsSolutions-SQS/);
  });
});
