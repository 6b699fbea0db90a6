/**
 * The parts of a synthesized CloudFormation template that the local runtime reads, and small helpers to
 * walk them. Property values stay `unknown` until `intrinsics.ts` resolves them.
 */

export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Metadata?: Record<string, unknown>;
  readonly Condition?: string;
}

export interface CfnOutput {
  readonly Value: unknown;
  readonly Description?: string;
}

export interface CfnParameter {
  readonly Type: string;
  readonly Default?: unknown;
}

export interface CfnTemplate {
  readonly Resources: Record<string, CfnResource>;
  readonly Outputs?: Record<string, CfnOutput>;
  readonly Parameters?: Record<string, CfnParameter>;
  readonly Conditions?: Record<string, unknown>;
  readonly Mappings?: Record<string, Record<string, Record<string, unknown>>>;
}

export interface TemplateResource {
  readonly logicalId: string;
  readonly resource: CfnResource;
}

export function resourcesOfType(template: CfnTemplate, type: string): TemplateResource[] {
  return Object.entries(template.Resources)
    .filter(([, resource]) => resource.Type === type)
    .map(([logicalId, resource]) => ({ logicalId, resource }));
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The properties of a resource, never undefined. */
export function props(resource: CfnResource): Record<string, unknown> {
  return resource.Properties ?? {};
}
