/**
 * API Gateway HTTP API route selection: route keys such as `GET /v1/webhooks/{webhookId}`,
 * `ANY /files/{proxy+}` and `$default`. When several routes match, the most specific wins: segment by
 * segment a literal beats a `{param}`, which beats a greedy `{proxy+}`; then a route naming the method
 * beats `ANY`; `$default` only catches what nothing else does.
 */

type Segment =
  | { readonly kind: "literal"; readonly value: string }
  | { readonly kind: "param"; readonly name: string }
  | { readonly kind: "greedy"; readonly name: string };

export interface ParsedRouteKey {
  /** Upper-case method, `ANY`, or undefined for `$default`. */
  readonly method?: string;
  readonly segments: readonly Segment[];
}

export function parseRouteKey(routeKey: string): ParsedRouteKey {
  if (routeKey === "$default") return { segments: [] };
  const match = /^([A-Z]+) (\/.*)$/.exec(routeKey.trim());
  if (match === null) throw new Error(`route key "${routeKey}" is not "METHOD /path" or "$default"`);
  const [, method = "", path = ""] = match;
  const segments = splitPath(path).map((segment, index, all): Segment => {
    const param = /^\{([^}]+)\}$/.exec(segment)?.[1];
    if (param === undefined) return { kind: "literal", value: segment };
    if (!param.endsWith("+")) return { kind: "param", name: param };
    if (index !== all.length - 1)
      throw new Error(`route key "${routeKey}": a greedy {${param}} must come last`);
    return { kind: "greedy", name: param.slice(0, -1) };
  });
  return { method, segments };
}

export interface RouteMatch<T> {
  readonly route: T;
  readonly pathParameters: Record<string, string>;
}

/** The route a request goes to, or undefined (a 404). `path` is the request path without its query. */
export function matchRoute<T extends { readonly routeKey: string }>(
  routes: readonly T[],
  method: string,
  path: string,
): RouteMatch<T> | undefined {
  const requestSegments = splitPath(path);
  let best: { match: RouteMatch<T>; rank: number[] } | undefined;
  let fallback: T | undefined;
  for (const route of routes) {
    const parsed = parseRouteKey(route.routeKey);
    if (parsed.method === undefined) {
      fallback = route;
      continue;
    }
    if (parsed.method !== "ANY" && parsed.method !== method.toUpperCase()) continue;
    const pathParameters = matchSegments(parsed.segments, requestSegments);
    if (pathParameters === undefined) continue;
    const rank = [...parsed.segments.map(segmentRank), parsed.method === "ANY" ? 0 : 1];
    if (best === undefined || compareRanks(rank, best.rank) > 0)
      best = { match: { route, pathParameters }, rank };
  }
  if (best !== undefined) return best.match;
  return fallback === undefined ? undefined : { route: fallback, pathParameters: {} };
}

function matchSegments(
  pattern: readonly Segment[],
  request: readonly string[],
): Record<string, string> | undefined {
  const parameters: Record<string, string> = {};
  for (let index = 0; index < pattern.length; index++) {
    const segment = pattern[index];
    const value = request[index];
    if (segment === undefined || value === undefined) return undefined;
    if (segment.kind === "greedy") {
      parameters[segment.name] = request.slice(index).map(decode).join("/");
      return parameters;
    }
    if (segment.kind === "literal") {
      if (segment.value !== decode(value)) return undefined;
    } else {
      parameters[segment.name] = decode(value);
    }
  }
  return pattern.length === request.length ? parameters : undefined;
}

function segmentRank(segment: Segment): number {
  return segment.kind === "literal" ? 3 : segment.kind === "param" ? 2 : 1;
}

/** Lexicographic; at a tie, the longer (more specific) rank wins. */
function compareRanks(a: readonly number[], b: readonly number[]): number {
  for (let index = 0; index < Math.min(a.length, b.length); index++) {
    const difference = (a[index] ?? 0) - (b[index] ?? 0);
    if (difference !== 0) return difference;
  }
  return a.length - b.length;
}

function splitPath(path: string): string[] {
  return path.split("/").filter((segment) => segment !== "");
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
