import type { EventTypeDefinition } from "../shared/event-catalogue.ts";
import { ValidationError } from "./errors.ts";

const EVENT_TYPE_NAME = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;

/** Whether an event type name is well formed (lower-case dotted words). */
export function isEventTypeName(name: string): boolean {
  return EVENT_TYPE_NAME.test(name);
}

/**
 * Whether one subscription pattern covers an event type: an exact name, `prefix.*` (any type under
 * that prefix, at any depth) or `*` (every type).
 */
export function patternMatches(pattern: string, eventType: string): boolean {
  if (pattern === "*") return true;
  if (pattern.endsWith(".*")) return eventType.startsWith(pattern.slice(0, -1));
  return pattern === eventType;
}

/** Whether any of a webhook's subscription patterns covers the event type. */
export function isSubscribed(patterns: readonly string[], eventType: string): boolean {
  return patterns.some((pattern) => patternMatches(pattern, eventType));
}

/** Throws a ValidationError naming the valid types when `eventType` is not in the catalogue. */
export function assertKnownEventType(
  catalogue: readonly EventTypeDefinition[],
  eventType: string,
  path = "type",
): void {
  if (!catalogue.some((definition) => definition.name === eventType)) {
    throw new ValidationError(
      `unknown event type "${eventType}"; valid types: ${catalogueNames(catalogue)}`,
      [{ path, message: `must be one of: ${catalogueNames(catalogue)}` }],
    );
  }
}

/**
 * Throws a ValidationError unless every subscription pattern covers at least one catalogue type, so
 * that a typo (`memroy.created`, `memory.*.x`) is caught at registration rather than silently
 * subscribing to nothing.
 */
export function assertValidSubscriptions(
  catalogue: readonly EventTypeDefinition[],
  patterns: readonly string[],
  path = "event_types",
): void {
  const details = patterns.flatMap((pattern, index) =>
    catalogue.some((definition) => patternMatches(pattern, definition.name))
      ? []
      : [
          {
            path: `${path}[${index}]`,
            message: `"${pattern}" matches no event type; use a name, a "prefix.*" pattern or "*" (valid types: ${catalogueNames(catalogue)})`,
          },
        ],
  );
  if (details.length > 0) {
    throw new ValidationError(`${details.length} event type(s) are not valid`, details);
  }
}

function catalogueNames(catalogue: readonly EventTypeDefinition[]): string {
  return catalogue.map((definition) => definition.name).join(", ");
}
