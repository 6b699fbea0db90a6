/**
 * The one JSON Schema validator of event data, with the same options at synth (`lib/`, which refuses
 * a catalogue whose schemas cannot be used) and in the functions (which refuse data that does not
 * match). Ajv compiles a schema into a function; a function compiles each type's schema when an event
 * of that type first arrives, and keeps it for the rest of its life.
 */
import { Ajv2020, type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js";
import formats from "ajv-formats";
import type { EventTypeDefinition } from "./event-catalogue.ts";
import { exampleEventData } from "./event-example.ts";

/** One way `data` misses its schema: where (`data.amount`, `data.items[0]`), and what is wrong. */
export interface DataProblem {
  readonly path: string;
  readonly message: string;
}

/** More problems than this are left out of an answer: the first ones say what to fix. */
export const MAX_DATA_PROBLEMS = 20;

/**
 * Every error, not only the first, so that one answer lists every field to fix. Unknown keywords (a
 * `requried` typo) are refused; the type-strictness checks are off, so that schemas written for other
 * validators (a `properties` without `type`) still compile.
 */
function newAjv(): Ajv2020 {
  const ajv = new Ajv2020({
    allErrors: true,
    strictTypes: false,
    strictTuples: false,
    strictRequired: false,
  });
  formats.default(ajv);
  return ajv;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function member(path: string, key: string): string {
  if (/^(0|[1-9][0-9]*)$/.test(key)) return `${path}[${key}]`;
  return IDENTIFIER.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

/** `/items/0/a~1b` (a JSON pointer into the data) as `data.items[0]["a/b"]`. */
export function dataPath(instancePath: string): string {
  if (instancePath === "") return "data";
  return instancePath
    .slice(1)
    .split("/")
    .map((token) => token.replaceAll("~1", "/").replaceAll("~0", "~"))
    .reduce(member, "data");
}

/** Ajv's errors as problems at the field they concern: a missing property is named, not its parent. */
export function dataProblems(errors: readonly ErrorObject[]): DataProblem[] {
  const problems = errors.map((error): DataProblem => {
    const at = dataPath(error.instancePath);
    const params = error.params as Record<string, unknown>;
    if (error.keyword === "required" && typeof params.missingProperty === "string") {
      return { path: member(at, params.missingProperty), message: "is required" };
    }
    if (error.keyword === "additionalProperties" && typeof params.additionalProperty === "string") {
      return { path: member(at, params.additionalProperty), message: "is not allowed" };
    }
    if (error.keyword === "unevaluatedProperties" && typeof params.unevaluatedProperty === "string") {
      return { path: member(at, params.unevaluatedProperty), message: "is not allowed" };
    }
    if (error.keyword === "enum" && Array.isArray(params.allowedValues)) {
      return {
        path: at,
        message: `must be one of ${params.allowedValues.map((v) => JSON.stringify(v)).join(", ")}`,
      };
    }
    return { path: at, message: error.message ?? `fails "${error.keyword}"` };
  });
  const unique = [
    ...new Map(problems.map((problem) => [`${problem.path} ${problem.message}`, problem])).values(),
  ];
  return unique.slice(0, MAX_DATA_PROBLEMS);
}

/**
 * Why the catalogue's schemas cannot be deployed, one line per problem naming the type: a schema Ajv
 * cannot compile, an example that is no JSON object or does not match, or (for a schema without
 * `examples`) a schema that refuses the test sample `exampleEventData` sends instead.
 */
export function catalogueSchemaProblems(catalogue: readonly EventTypeDefinition[]): string[] {
  const ajv = newAjv();
  return catalogue.flatMap((definition) => {
    const { schema } = definition;
    if (schema === undefined) return [];
    const where = `eventTypes "${definition.name}": schema`;
    let validate: ValidateFunction;
    try {
      validate = ajv.compile(schema);
    } catch (error) {
      return [`${where} is not a usable JSON Schema (draft 2020-12): ${(error as Error).message}`];
    }
    const examples = schema.examples;
    if (examples === undefined) {
      const sample = exampleEventData(definition);
      return validate(sample)
        ? []
        : [
            `${where} refuses Hookline's test sample ${JSON.stringify(sample)}: give it \`examples\`, which test sends use`,
          ];
    }
    if (!Array.isArray(examples) || examples.length === 0)
      return [`${where}.examples must be a non-empty array`];
    return examples.flatMap((example, index) => {
      if (typeof example !== "object" || example === null || Array.isArray(example)) {
        return [`${where}.examples[${index}] must be a JSON object, as event data is`];
      }
      if (validate(example)) return [];
      const problems = dataProblems(validate.errors ?? []);
      return [
        `${where}.examples[${index}] does not match the schema: ${problems.map((p) => `${p.path} ${p.message}`).join("; ")}`,
      ];
    });
  });
}

/**
 * Checks data against the catalogue's schemas, compiling each type's schema on its first event: a
 * function that only ever sees a few types compiles only those.
 */
export function eventDataCheck(
  catalogue: readonly EventTypeDefinition[],
): (type: string, data: unknown) => readonly DataProblem[] {
  const schemas = new Map(
    catalogue.flatMap((definition) => (definition.schema ? [[definition.name, definition.schema]] : [])),
  );
  let ajv: Ajv2020 | undefined;
  const compiled = new Map<string, ValidateFunction>();
  return (type, data) => {
    const schema = schemas.get(type);
    if (schema === undefined) return [];
    let validate = compiled.get(type);
    if (validate === undefined) {
      ajv ??= newAjv();
      validate = ajv.compile(schema);
      compiled.set(type, validate);
    }
    return validate(data) ? [] : dataProblems(validate.errors ?? []);
  };
}
