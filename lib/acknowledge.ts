import { Validations } from "aws-cdk-lib";
import type { IConstruct } from "constructs";

/**
 * Acknowledges `cdk-nag` rules on `scope` and everything under it, each with the reason it does not
 * apply; the test that runs the AwsSolutions and Serverless packs fails on any finding not listed.
 */
export function acknowledge(scope: IConstruct, reasons: Readonly<Record<string, string>>): void {
  for (const [id, reason] of Object.entries(reasons)) Validations.of(scope).acknowledge({ id, reason });
}
