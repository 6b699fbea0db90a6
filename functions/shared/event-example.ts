import type { EventTypeDefinition } from "./event-catalogue.ts";

// Apart from the catalogue module, whose default catalogue no function bundle should carry.
/**
 * The data a test send or `hookline trigger` sends for a type when none is given: the first of its
 * schema's `examples`, else a test sample naming the type (which a schema without `examples` must
 * accept: checked at synth).
 */
export function exampleEventData(definition: EventTypeDefinition): Readonly<Record<string, unknown>> {
  const examples = definition.schema?.examples;
  const [first] = Array.isArray(examples) ? (examples as unknown[]) : [];
  if (typeof first === "object" && first !== null && !Array.isArray(first))
    return first as Record<string, unknown>;
  return { test: true, message: `An example ${definition.name} event: ${definition.description}` };
}
