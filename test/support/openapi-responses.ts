import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import formats from "ajv-formats";

type JsonSchema = Readonly<Record<string, unknown>>;

interface ResponseObject {
  readonly content?: Readonly<Record<string, { readonly schema?: JsonSchema }>>;
}

interface OperationObject {
  readonly responses: Readonly<Record<string, ResponseObject>>;
}

/** The parts of an OpenAPI 3.1 document that say what the API answers. */
export interface OpenApiDocument {
  readonly paths: Readonly<Record<string, Readonly<Record<string, OperationObject>>>>;
  readonly components?: { readonly schemas?: Readonly<Record<string, JsonSchema>> };
}

const COMPONENT_REF = "#/components/schemas/";

/** Statuses that a request no documented operation takes may get (API Gateway's catch-all route). */
const UNROUTED_STATUSES: ReadonlySet<number> = new Set([404, 405]);

/**
 * Checks answers against what an OpenAPI document says the API answers: the request's method and
 * path must match an operation (unless it is the catch-all's 404 or 405 in the document's `Error`
 * shape), the status must be one of the operation's responses (or `default`), and the body must be
 * valid against that response's JSON schema, or absent when the response documents none.
 *
 * Stricter than the document in one way: an object that lists its properties may hold no others, so
 * a field the API answers but the document does not name fails the check.
 */
export function responseChecker(document: OpenApiDocument) {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  formats.default(ajv);
  const components = document.components?.schemas ?? {};
  const validators = new Map<string, ValidateFunction>();

  const validatorFor = (key: string, schema: JsonSchema): ValidateFunction => {
    let validate = validators.get(key);
    if (!validate) {
      validate = ajv.compile(closed(inline(schema, components, [])));
      validators.set(key, validate);
    }
    return validate;
  };

  const templates = Object.keys(document.paths)
    .map((template) => ({
      template,
      pattern: new RegExp(
        `^${template
          .split(/\{[^}]+\}/)
          .map((literal) => literal.replace(/[.*+?^$()|[\]\\]/g, "\\$&"))
          .join("[^/]+")}$`,
      ),
      // A literal segment wins over a parameter: `/a/b` over `/a/{id}`.
      parameters: (template.match(/\{/g) ?? []).length,
    }))
    .sort((a, b) => a.parameters - b.parameters);

  /** What is wrong with an answer, as sentences; empty when the document describes it. */
  return function problems(method: string, url: string, status: number, body: unknown): string[] {
    const path = url.split("?")[0] ?? url;
    const template = templates.find((candidate) => candidate.pattern.test(path))?.template;
    const operation = template === undefined ? undefined : document.paths[template]?.[method.toLowerCase()];
    if (!operation || template === undefined) {
      const errorShape = components.Error;
      if (!UNROUTED_STATUSES.has(status) || errorShape === undefined) {
        return [
          `${method} ${path} is no operation of the document, and it answered ${status} ${snippet(body)}`,
        ];
      }
      return schemaProblems(validatorFor("unrouted", { $ref: `${COMPONENT_REF}Error` }), body);
    }
    const response = operation.responses[String(status)] ?? operation.responses.default;
    if (!response) {
      const documented = Object.keys(operation.responses).join(", ");
      return [
        `${method} ${template} answered ${status}; the document lists only ${documented}: ${snippet(body)}`,
      ];
    }
    const schema = response.content?.["application/json"]?.schema;
    if (schema === undefined) {
      return body === undefined || body === ""
        ? []
        : [`${method} ${template} ${status} documents no body, but one came: ${snippet(body)}`];
    }
    const found = schemaProblems(validatorFor(`${method} ${template} ${status}`, schema), body);
    return found.map((problem) => `${method} ${template} ${status}: ${problem}`);
  };
}

/** The start of a body, enough to tell what went wrong. */
function snippet(body: unknown): string {
  const text = JSON.stringify(body) ?? "(no body)";
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

function schemaProblems(validate: ValidateFunction, body: unknown): string[] {
  if (validate(body)) return [];
  return (validate.errors ?? []).map(
    (error) =>
      `body${error.instancePath} ${error.message ?? "is not valid"}${
        error.keyword === "additionalProperties" ? ` (${JSON.stringify(error.params)})` : ""
      }`,
  );
}

/** The schema with every component reference replaced by the component itself. */
function inline(value: unknown, components: Readonly<Record<string, JsonSchema>>, seen: string[]): unknown {
  if (Array.isArray(value)) return value.map((item) => inline(item, components, seen));
  if (typeof value !== "object" || value === null) return value;
  const ref = (value as JsonSchema).$ref;
  if (typeof ref === "string" && ref.startsWith(COMPONENT_REF)) {
    const name = ref.slice(COMPONENT_REF.length);
    const component = components[name];
    if (!component) throw new Error(`the document refers to a missing schema: ${ref}`);
    if (seen.includes(name)) throw new Error(`the document's schema ${name} refers to itself`);
    return inline(component, components, [...seen, name]);
  }
  return Object.fromEntries(
    Object.entries(value).map(([key, child]) => [key, inline(child, components, seen)]),
  );
}

/** Keywords whose value is a schema, a list of schemas or a map of them (the rest hold data). */
const SUBSCHEMAS: ReadonlySet<string> = new Set(["items", "not", "additionalProperties", "propertyNames"]);
const SUBSCHEMA_LISTS: ReadonlySet<string> = new Set(["anyOf", "oneOf", "allOf", "prefixItems"]);
const SUBSCHEMA_MAPS: ReadonlySet<string> = new Set(["properties", "patternProperties", "$defs"]);

/** Objects that list their properties and say nothing of others get `additionalProperties: false`. */
function closed(schema: unknown): JsonSchema {
  if (typeof schema !== "object" || schema === null || Array.isArray(schema)) return {};
  const copy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (SUBSCHEMAS.has(key) && typeof value === "object" && value !== null) copy[key] = closed(value);
    else if (SUBSCHEMA_LISTS.has(key) && Array.isArray(value)) copy[key] = value.map(closed);
    else if (SUBSCHEMA_MAPS.has(key) && typeof value === "object" && value !== null) {
      copy[key] = Object.fromEntries(Object.entries(value).map(([name, child]) => [name, closed(child)]));
    } else copy[key] = value;
  }
  const open = "additionalProperties" in copy || "patternProperties" in copy;
  return "properties" in copy && !open ? { ...copy, additionalProperties: false } : copy;
}
