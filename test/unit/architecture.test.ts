import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/**
 * The house drawn from the imports: entry points (handler folders, bin/, local/) → services → domain
 * and ports ← adapters; lib/ reads only functions/shared; the typed client (client/) stands alone.
 * Each rule names the arrow it forbids.
 */

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const SCANNED = ["functions", "lib", "bin", "local", "client", "console"];

/** The one file outside the API's folder that reads its OpenAPI document, to type the client by it. */
const CLIENT_GENERATOR = "client/generate.ts";
const OPENAPI_DOCUMENT = "functions/api/openapi.ts";
/** What the client may import: it runs in a browser or another application, without the stack. */
const CLIENT_RUNTIME = "openapi-fetch";

/** A file and what it imports: repository-relative paths for relative imports, package names otherwise. */
interface SourceFile {
  readonly path: string;
  readonly imports: readonly string[];
  readonly readsEnv: boolean;
}

function typeScriptFiles(folder: string): string[] {
  return readdirSync(join(ROOT, folder), { withFileTypes: true }).flatMap((entry) => {
    const path = `${folder}/${entry.name}`;
    if (entry.isDirectory()) return typeScriptFiles(path);
    return entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts") ? [path] : [];
  });
}

/** Static, type-only and re-exported imports (`import … from`, `export … from`), side-effect and dynamic ones. */
const IMPORT_FORMS = [
  /^\s*(?:import|export)\b[^;]*?\bfrom\s*["']([^"']+)["']/gm,
  /^\s*import\s*["']([^"']+)["']/gm,
  /\bimport\(\s*["']([^"']+)["']\s*\)/g,
];

function sourceFile(path: string): SourceFile {
  const text = readFileSync(join(ROOT, path), "utf8");
  const imports = IMPORT_FORMS.flatMap((form) => [...text.matchAll(form)].map((match) => match[1] ?? "")).map(
    (specifier) => (specifier.startsWith(".") ? normalize(join(dirname(path), specifier)) : specifier),
  );
  return { path, imports, readsEnv: /\bprocess\.env\b/.test(text) };
}

type Layer =
  | {
      readonly kind:
        | "domain"
        | "adapter"
        | "service"
        | "shared"
        | "edge"
        | "lib"
        | "bin"
        | "local"
        | "client"
        | "console"
        | "other";
    }
  | { readonly kind: "handler"; readonly folder: string };

function layerOf(path: string): Layer {
  const [top, second] = path.split("/");
  if (top === "lib" || top === "bin" || top === "local" || top === "client" || top === "console") {
    return { kind: top };
  }
  if (top !== "functions" || second === undefined || second.endsWith(".ts")) return { kind: "other" };
  const named: Record<string, Layer["kind"]> = {
    domain: "domain",
    adapters: "adapter",
    services: "service",
    shared: "shared",
    http: "edge",
  };
  const kind = named[second];
  return kind === undefined ? { kind: "handler", folder: second } : ({ kind } as Layer);
}

const isAwsSdk = (specifier: string) => specifier.startsWith("@aws-sdk/");

/** Every import that runs against the house, as "file → import: why". */
function layerViolations(files: readonly SourceFile[]): string[] {
  const problems: string[] = [];
  for (const file of files) {
    const from = layerOf(file.path);
    if (from.kind === "domain" && file.readsEnv) problems.push(`${file.path}: domain reads process.env`);
    for (const target of file.imports) {
      const to = layerOf(target);
      const arrow = `${file.path} → ${target}`;
      if (from.kind === "domain" && isAwsSdk(target)) problems.push(`${arrow}: domain imports the AWS SDK`);
      if (from.kind === "domain" && to.kind === "adapter")
        problems.push(`${arrow}: domain imports an adapter`);
      if (
        (from.kind === "domain" || from.kind === "adapter") &&
        (to.kind === "service" || to.kind === "handler")
      ) {
        problems.push(`${arrow}: ${from.kind} imports a level above it`);
      }
      if (from.kind === "service" && to.kind === "adapter")
        problems.push(`${arrow}: a service imports an adapter`);
      const readsDocument = file.path === CLIENT_GENERATOR && target === OPENAPI_DOCUMENT;
      if (
        to.kind === "handler" &&
        !(from.kind === "handler" && from.folder === to.folder) &&
        !readsDocument
      ) {
        problems.push(`${arrow}: only its own folder may import a handler folder`);
      }
      // The console runs in a browser and reaches Hookline through its HTTP API only.
      if (from.kind === "console" && /^(functions|lib|bin|local)\//.test(target)) {
        problems.push(`${arrow}: the console imports server code`);
      }
      if (from.kind !== "console" && to.kind === "console") {
        problems.push(`${arrow}: only the console imports the console`);
      }
      if (
        from.kind === "client" &&
        file.path !== CLIENT_GENERATOR &&
        to.kind !== "client" &&
        target !== CLIENT_RUNTIME
      ) {
        problems.push(`${arrow}: the client imports something besides itself and ${CLIENT_RUNTIME}`);
      }
      if (from.kind === "lib" && target.startsWith("functions/") && to.kind !== "shared") {
        problems.push(`${arrow}: lib imports function code other than functions/shared`);
      }
    }
  }
  return problems;
}

/** Each import cycle among `functions/**`, as the files around it. */
function importCycles(files: readonly SourceFile[]): string[][] {
  const edges = new Map(
    files
      .filter((file) => file.path.startsWith("functions/"))
      .map((file) => [file.path, file.imports.filter((target) => target.startsWith("functions/"))] as const),
  );
  const cycles: string[][] = [];
  const done = new Set<string>();
  const stack: string[] = [];
  const visit = (path: string) => {
    const open = stack.indexOf(path);
    if (open >= 0) {
      cycles.push([...stack.slice(open), path]);
      return;
    }
    if (done.has(path)) return;
    stack.push(path);
    for (const target of edges.get(path) ?? []) visit(target);
    stack.pop();
    done.add(path);
  };
  for (const path of edges.keys()) visit(path);
  return cycles;
}

const repository = SCANNED.flatMap(typeScriptFiles).map(sourceFile);

describe("the import directions", () => {
  it("reads the files of every level", () => {
    const kinds = new Set(repository.map((file) => layerOf(file.path).kind));
    expect([...kinds].sort()).toEqual(
      [
        "adapter",
        "bin",
        "client",
        "console",
        "domain",
        "edge",
        "handler",
        "lib",
        "local",
        "service",
        "shared",
      ].sort(),
    );
    // Relative imports resolve to files that exist, so no rule is passed by a path it cannot match.
    const paths = new Set(repository.map((file) => file.path));
    const dangling = repository.flatMap((file) =>
      file.imports.filter(
        (target) => /^(functions|lib|bin|local|console)\/.*\.ts$/.test(target) && !paths.has(target),
      ),
    );
    expect(dangling).toEqual([]);
  });

  it("run one way: entry points → services → domain and ports ← adapters; lib reads only shared names", () => {
    expect(layerViolations(repository)).toEqual([]);
  });

  it("form no cycle among functions/", () => {
    expect(importCycles(repository)).toEqual([]);
  });
});

describe("the checks bite", () => {
  const file = (path: string, imports: readonly string[], readsEnv = false): SourceFile => ({
    path,
    imports,
    readsEnv,
  });

  it.each([
    ["an adapter importing a service", file("functions/adapters/a.ts", ["functions/services/recovery.ts"])],
    [
      "an adapter importing a handler folder",
      file("functions/adapters/a.ts", ["functions/delivery/handler.ts"]),
    ],
    ["domain importing a service", file("functions/domain/a.ts", ["functions/services/recovery.ts"])],
    ["domain importing an adapter", file("functions/domain/a.ts", ["functions/adapters/sqs.ts"])],
    ["domain importing the AWS SDK", file("functions/domain/a.ts", ["@aws-sdk/client-sqs"])],
    ["domain reading the environment", file("functions/domain/a.ts", [], true)],
    ["a service importing an adapter", file("functions/services/a.ts", ["functions/adapters/logger.ts"])],
    [
      "a handler importing another's folder",
      file("functions/ingest/handler.ts", ["functions/api/openapi.ts"]),
    ],
    ["lib importing domain code", file("lib/a.ts", ["functions/domain/ids.ts"])],
    ["the CLI importing a handler folder", file("bin/cli/a.ts", ["functions/delivery/handler.ts"])],
    ["the local runtime importing a handler folder", file("local/a.ts", ["functions/api/route-match.ts"])],
    ["the console importing server code", file("console/a.ts", ["functions/domain/portal-token.ts"])],
    ["a handler importing the console", file("functions/api/handler.ts", ["console/api.ts"])],
    ["the client importing stack code", file("client/index.ts", ["functions/shared/names.ts"])],
    ["the client importing another package", file("client/index.ts", ["zod"])],
    [
      "the client's generator reading the API's handler",
      file(CLIENT_GENERATOR, ["functions/api/handler.ts"]),
    ],
  ])("%s", (_name, bad) => {
    expect(layerViolations([bad])).not.toEqual([]);
  });

  it("a handler folder importing its own files, lib reading shared names and the client its runtime, pass", () => {
    expect(
      layerViolations([
        file("functions/api/handler.ts", ["functions/api/openapi.ts", "functions/services/recovery.ts"]),
        file("lib/a.ts", ["functions/shared/names.ts"]),
        file("client/index.ts", [CLIENT_RUNTIME, "client/schema.d.ts"]),
        file(CLIENT_GENERATOR, [OPENAPI_DOCUMENT]),
      ]),
    ).toEqual([]);
  });

  it("a cycle is found", () => {
    const cycles = importCycles([
      file("functions/domain/a.ts", ["functions/domain/b.ts"]),
      file("functions/domain/b.ts", ["functions/domain/a.ts"]),
    ]);
    expect(cycles).toEqual([["functions/domain/a.ts", "functions/domain/b.ts", "functions/domain/a.ts"]]);
  });
});
