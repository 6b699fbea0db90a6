/**
 * Reads a synthesized cloud assembly (`cdk.out`): finds the one stack in `manifest.json`, loads its
 * template and locates the asset directories of its Lambda functions.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { type CfnResource, type CfnTemplate, isRecord } from "./template.ts";

export interface CloudAssembly {
  /** The `cdk.out` directory. */
  readonly dir: string;
  readonly stackName: string;
  readonly templatePath: string;
  readonly template: CfnTemplate;
}

interface ManifestArtifact {
  readonly type?: string;
  readonly displayName?: string;
  readonly properties?: { readonly templateFile?: string; readonly stackName?: string };
}

export async function readAssembly(dir: string, stackName?: string): Promise<CloudAssembly> {
  const manifestPath = path.join(dir, "manifest.json");
  if (!existsSync(manifestPath))
    throw new Error(`${manifestPath} does not exist: the app did not synthesize`);
  const manifest: unknown = JSON.parse(await readFile(manifestPath, "utf8"));
  const artifacts = isRecord(manifest) && isRecord(manifest.artifacts) ? manifest.artifacts : {};
  const stacks = Object.entries(artifacts as Record<string, ManifestArtifact>)
    .filter(([, artifact]) => artifact.type === "aws:cloudformation:stack")
    .map(([id, artifact]) => ({ id, name: artifact.properties?.stackName ?? id, artifact }));

  const chosen =
    stackName === undefined
      ? stacks
      : stacks.filter((stack) => stack.name === stackName || stack.id === stackName);
  if (chosen.length !== 1) {
    const names = stacks.map((stack) => stack.name).join(", ") || "none";
    throw new Error(
      stackName === undefined
        ? `the local runtime runs exactly one stack, the assembly has ${stacks.length} (${names}); set HOOKLINE_STACK to pick one`
        : `stack ${stackName} is not in the assembly (stacks: ${names})`,
    );
  }
  const [stack] = chosen;
  if (stack === undefined) throw new Error("unreachable");
  const templateFile = stack.artifact.properties?.templateFile;
  if (templateFile === undefined) throw new Error(`stack ${stack.name} has no templateFile in manifest.json`);
  const templatePath = path.join(dir, templateFile);
  const template = JSON.parse(await readFile(templatePath, "utf8")) as CfnTemplate;
  if (!isRecord(template.Resources)) throw new Error(`${templatePath} has no Resources`);
  return { dir, stackName: stack.name, templatePath, template };
}

export interface LambdaCode {
  /** The directory holding the bundle. */
  readonly dir: string;
  /** The module file that exports the handler, e.g. `<dir>/index.mjs`. */
  readonly file: string;
  /** The exported handler's name, e.g. `handler`. */
  readonly exportName: string;
}

const MODULE_EXTENSIONS = [".mjs", ".js", ".cjs"];

/**
 * Where the code of an `AWS::Lambda::Function` is: its asset directory (`Metadata["aws:asset:path"]`)
 * and the module named by `Handler` (`index.handler` → `index.mjs` or `index.js`, export `handler`).
 */
export function lambdaCode(assemblyDir: string, logicalId: string, resource: CfnResource): LambdaCode {
  const assetPath = resource.Metadata?.["aws:asset:path"];
  if (typeof assetPath !== "string") {
    throw new Error(
      `function ${logicalId} has no "aws:asset:path" metadata: only functions whose code is a local asset (NodejsFunction, Code.fromAsset) can run locally`,
    );
  }
  const dir = path.resolve(assemblyDir, assetPath);
  const handler = resource.Properties?.Handler;
  if (typeof handler !== "string" || !handler.includes(".")) {
    throw new Error(`function ${logicalId} has no Handler of the form "file.export"`);
  }
  const dot = handler.lastIndexOf(".");
  const moduleBase = path.join(dir, handler.slice(0, dot));
  const file = MODULE_EXTENSIONS.map((extension) => moduleBase + extension).find((candidate) =>
    existsSync(candidate),
  );
  if (file === undefined) {
    throw new Error(
      `function ${logicalId}: no ${handler.slice(0, dot)}{${MODULE_EXTENSIONS.join(",")}} in ${dir} for Handler ${handler}`,
    );
  }
  return { dir, file, exportName: handler.slice(dot + 1) };
}
