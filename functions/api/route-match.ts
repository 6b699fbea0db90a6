/**
 * For requests no route took (API Gateway's `$default` route): which methods the path does have, so
 * that a wrong method is a 405 naming them and an unknown path a 404.
 */
export function allowedMethods(routeKeys: readonly string[], path: string): string[] {
  const requested = segments(path);
  const methods = new Set<string>();
  for (const routeKey of routeKeys) {
    const [method, pattern] = routeKey.split(" ");
    if (method === undefined || pattern === undefined) continue;
    const expected = segments(pattern);
    const matches =
      expected.length === requested.length &&
      expected.every((segment, index) => /^\{[^}]+\}$/.test(segment) || segment === requested[index]);
    if (matches) methods.add(method);
  }
  return [...methods].sort();
}

function segments(path: string): string[] {
  return path.split("/").filter((segment) => segment !== "");
}
