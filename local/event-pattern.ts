/**
 * EventBridge event-pattern matching, also used by Lambda event-source filters. Pure.
 *
 * A pattern mirrors the event's shape: an object descends into the event, an array lists leaf matchers
 * of which one must match. When the event value is an array, one element matching is enough. Leaf
 * matchers: exact values (string, number, boolean, null), `prefix`, `suffix`, `equals-ignore-case`,
 * `wildcard`, `anything-but` (values, `prefix`, `suffix`, `equals-ignore-case`, `wildcard`), `numeric`,
 * `exists`, `cidr` (IPv4); and `$or` at any level.
 *
 * No maintained npm package implements this (checked: only a Java library and serverless plugins).
 */

type Leaf = string | number | boolean | null;

export function matchesPattern(pattern: unknown, event: unknown): boolean {
  if (!isObject(pattern))
    throw new Error(`an event pattern must be an object, got ${JSON.stringify(pattern)}`);
  return Object.entries(pattern).every(([key, rule]) => {
    if (key === "$or") {
      if (!Array.isArray(rule)) throw new Error(`"$or" must be an array of patterns`);
      return rule.some((alternative) => matchesPattern(alternative, event));
    }
    const value = isObject(event) ? event[key] : undefined;
    if (Array.isArray(rule)) return matchesLeaf(rule, value);
    if (isObject(rule)) {
      if (Array.isArray(value)) return value.some((item) => isObject(item) && matchesPattern(rule, item));
      return matchesPattern(rule, isObject(value) ? value : undefined);
    }
    throw new Error(`pattern field "${key}" must be an array of matchers or an object`);
  });
}

function matchesLeaf(matchers: readonly unknown[], value: unknown): boolean {
  if (value !== undefined && isObject(value)) {
    return false; // patterns match leaves only; an object is not one
  }
  const candidates: Leaf[] | undefined =
    value === undefined
      ? undefined
      : Array.isArray(value)
        ? value.filter(isLeaf)
        : isLeaf(value)
          ? [value]
          : [];
  return matchers.some((matcher) => matchOne(matcher, candidates));
}

function matchOne(matcher: unknown, candidates: readonly Leaf[] | undefined): boolean {
  if (isLeaf(matcher)) return candidates?.some((candidate) => sameLeaf(matcher, candidate)) ?? false;
  if (!isObject(matcher)) throw new Error(`unsupported matcher ${JSON.stringify(matcher)}`);
  const [operator, ...extra] = Object.keys(matcher);
  if (operator === undefined || extra.length > 0)
    throw new Error(`a matcher has one operator: ${JSON.stringify(matcher)}`);
  const argument = matcher[operator];
  if (operator === "exists")
    return argument === true ? candidates !== undefined && candidates.length > 0 : candidates === undefined;
  if (candidates === undefined) return false;
  if (operator === "anything-but")
    return candidates.some((candidate) => !anythingButExcludes(argument, candidate));
  const test = stringOrNumberTest(operator, argument);
  return candidates.some(test);
}

function stringOrNumberTest(operator: string, argument: unknown): (candidate: Leaf) => boolean {
  switch (operator) {
    case "prefix":
    case "suffix": {
      const { text, ignoreCase } = textArgument(argument, operator);
      return (candidate) => {
        if (typeof candidate !== "string") return false;
        const subject = ignoreCase ? candidate.toLowerCase() : candidate;
        return operator === "prefix" ? subject.startsWith(text) : subject.endsWith(text);
      };
    }
    case "equals-ignore-case": {
      const expected = String(argument).toLowerCase();
      return (candidate) => typeof candidate === "string" && candidate.toLowerCase() === expected;
    }
    case "wildcard": {
      const regex = wildcardRegex(String(argument));
      return (candidate) => typeof candidate === "string" && regex.test(candidate);
    }
    case "numeric": {
      const check = numericCheck(argument);
      return (candidate) => typeof candidate === "number" && check(candidate);
    }
    case "cidr": {
      const inRange = cidrCheck(String(argument));
      return (candidate) => typeof candidate === "string" && inRange(candidate);
    }
    default:
      throw new Error(`unsupported event pattern operator "${operator}"`);
  }
}

/** Whether `anything-but`'s argument excludes the candidate. */
function anythingButExcludes(argument: unknown, candidate: Leaf): boolean {
  if (Array.isArray(argument))
    return argument.some((excluded) => isLeaf(excluded) && sameLeaf(excluded, candidate));
  if (isLeaf(argument)) return sameLeaf(argument, candidate);
  if (isObject(argument)) {
    const [operator] = Object.keys(argument);
    const inner = operator === undefined ? undefined : argument[operator];
    if (operator === "equals-ignore-case" && Array.isArray(inner)) {
      return inner.some((value) => stringOrNumberTest(operator, value)(candidate));
    }
    if ((operator === "prefix" || operator === "suffix" || operator === "wildcard") && Array.isArray(inner)) {
      return inner.some((value) => stringOrNumberTest(operator, value)(candidate));
    }
    if (operator !== undefined) return stringOrNumberTest(operator, inner)(candidate);
  }
  throw new Error(`unsupported anything-but argument ${JSON.stringify(argument)}`);
}

function textArgument(argument: unknown, operator: string): { text: string; ignoreCase: boolean } {
  if (typeof argument === "string") return { text: argument, ignoreCase: false };
  if (isObject(argument) && typeof argument["equals-ignore-case"] === "string") {
    return { text: argument["equals-ignore-case"].toLowerCase(), ignoreCase: true };
  }
  throw new Error(`unsupported ${operator} argument ${JSON.stringify(argument)}`);
}

function numericCheck(argument: unknown): (value: number) => boolean {
  if (!Array.isArray(argument) || argument.length === 0 || argument.length % 2 !== 0) {
    throw new Error(`numeric needs [operator, number, ...], got ${JSON.stringify(argument)}`);
  }
  const checks: ((value: number) => boolean)[] = [];
  for (let index = 0; index < argument.length; index += 2) {
    const operator = argument[index];
    const bound = Number(argument[index + 1]);
    const compare: Record<string, (value: number) => boolean> = {
      "=": (value) => value === bound,
      "<": (value) => value < bound,
      "<=": (value) => value <= bound,
      ">": (value) => value > bound,
      ">=": (value) => value >= bound,
    };
    const check = typeof operator === "string" ? compare[operator] : undefined;
    if (check === undefined || Number.isNaN(bound))
      throw new Error(`bad numeric matcher ${JSON.stringify(argument)}`);
    checks.push(check);
  }
  return (value) => checks.every((check) => check(value));
}

function wildcardRegex(pattern: string): RegExp {
  let source = "";
  for (let index = 0; index < pattern.length; index++) {
    const character = pattern[index] ?? "";
    if (character === "\\" && index + 1 < pattern.length) {
      source += escapeRegex(pattern[++index] ?? "");
    } else {
      source += character === "*" ? ".*" : escapeRegex(character);
    }
  }
  return new RegExp(`^${source}$`, "s");
}

function cidrCheck(cidr: string): (address: string) => boolean {
  const [base = "", bitsText = "32"] = cidr.split("/");
  const network = ipv4(base);
  const bits = Number(bitsText);
  if (network === undefined || !Number.isInteger(bits) || bits < 0 || bits > 32) {
    throw new Error(`unsupported cidr ${cidr} (IPv4 only)`);
  }
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return (address) => {
    const value = ipv4(address);
    return value !== undefined && (value & mask) >>> 0 === (network & mask) >>> 0;
  };
}

function ipv4(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    const octet = Number(part);
    if (!/^\d{1,3}$/.test(part) || octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

function sameLeaf(expected: Leaf, actual: Leaf): boolean {
  return expected === actual;
}

function isLeaf(value: unknown): value is Leaf {
  return value === null || ["string", "number", "boolean"].includes(typeof value);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
