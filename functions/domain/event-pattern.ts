/**
 * EventBridge event patterns: the one matcher behind webhook filters and the local runtime's rules and
 * Lambda event-source filters, and the validator that refuses a pattern before it is stored. Pure.
 *
 * A pattern mirrors the event's shape: an object descends into the event, an array lists leaf matchers
 * of which one must match. When the event value is an array, one element matching is enough. Leaf
 * matchers: exact values (string, number, boolean, null), `prefix`, `suffix`, `equals-ignore-case`,
 * `wildcard`, `anything-but` (values, `prefix`, `suffix`, `equals-ignore-case`, `wildcard`), `numeric`,
 * `exists`, `cidr` (IPv4); and `$or` at any level.
 *
 * No maintained npm package implements this (checked: only a Java library and serverless plugins).
 */

/** A webhook's filter: an event pattern matched against `{"type": ..., "data": ...}`. */
export type EventPattern = Readonly<Record<string, unknown>>;

/** Largest pattern accepted, as JSON text: it is stored on the webhook and evaluated on every publish. */
export const MAX_PATTERN_BYTES = 2048;

/** Most levels of fields a pattern nests (`{"data": {"plan": [...]}}` has two). */
export const MAX_PATTERN_DEPTH = 5;

/** Most values a pattern compares with, over all its matchers and `anything-but` lists. */
export const MAX_PATTERN_VALUES = 100;

/** Where in a pattern a problem is: field names and array indexes, from the pattern's root. */
export type PatternPath = readonly (string | number)[];

export interface PatternProblem {
  readonly path: PatternPath;
  readonly message: string;
}

type Leaf = string | number | boolean | null;

export function matchesPattern(pattern: unknown, event: unknown): boolean {
  if (!isObject(pattern))
    throw new Error(`an event pattern must be an object, got ${JSON.stringify(pattern)}`);
  return Object.entries(pattern).every(([key, rule]) => {
    if (key === "$or") {
      if (!Array.isArray(rule)) throw new Error(`"$or" must be an array of patterns`);
      return rule.some((alternative) => matchesPattern(alternative, event));
    }
    // Own fields only: an inherited one (`constructor`, `__proto__`) is not in the event.
    const value = isObject(event) && Object.hasOwn(event, key) ? event[key] : undefined;
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
      const matches = wildcardTest(String(argument));
      return (candidate) => typeof candidate === "string" && matches(candidate);
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

/**
 * A wildcard's test, without a regular expression: `^a.*b.*c$` backtracks polynomially on a long value,
 * and the value is a publisher's string of up to 256 KB. Matching each literal part at its leftmost
 * place after the one before is exact for `*`-only patterns, and linear in the value per part.
 */
function wildcardTest(pattern: string): (text: string) => boolean {
  const parts = wildcardParts(pattern);
  const first = parts[0] ?? "";
  if (parts.length === 1) return (text) => text === first;
  const last = parts[parts.length - 1] ?? "";
  const middle = parts.slice(1, -1);
  return (text) => {
    const end = text.length - last.length;
    if (end < first.length || !text.startsWith(first) || !text.endsWith(last)) return false;
    let from = first.length;
    for (const part of middle) {
      const at = text.indexOf(part, from);
      if (at < 0 || at + part.length > end) return false;
      from = at + part.length;
    }
    return true;
  };
}

/** The literal text between a wildcard's unescaped `*`s; a backslash makes the next character literal (`\*`). */
function wildcardParts(pattern: string): string[] {
  const parts = [""];
  for (let index = 0; index < pattern.length; index++) {
    const character = pattern[index] ?? "";
    if (character === "\\" && index + 1 < pattern.length) {
      parts[parts.length - 1] += pattern[++index] ?? "";
    } else if (character === "*") {
      parts.push("");
    } else {
      parts[parts.length - 1] += character;
    }
  }
  return parts;
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

/** `filter.data.amount[0].numeric`: a problem's path as the API reports it, under `root`. */
export function patternPathText(root: string, path: PatternPath): string {
  return path.reduce<string>(
    (text, segment) =>
      typeof segment === "number" ? `${text}[${segment}]` : text === "" ? segment : `${text}.${segment}`,
    root,
  );
}

const STRING_OPERATORS = ["prefix", "suffix", "equals-ignore-case", "wildcard"] as const;
const MATCH_OPERATORS = [...STRING_OPERATORS, "anything-but", "numeric", "exists", "cidr"];
const LOWER_BOUNDS = [">", ">="];
const UPPER_BOUNDS = ["<", "<="];

/** Counts the values a pattern compares with as the validator walks it. */
interface Budget {
  values: number;
}

/**
 * The first problem of a pattern, or undefined when it may be stored: only the operators and shapes
 * `matchesPattern` evaluates, within `MAX_PATTERN_BYTES`, `MAX_PATTERN_DEPTH` and `MAX_PATTERN_VALUES`,
 * so a stored pattern never throws while an event fans out. Never throws itself.
 */
export function patternProblem(pattern: unknown): PatternProblem | undefined {
  let text: string | undefined;
  try {
    text = JSON.stringify(pattern);
  } catch {
    return { path: [], message: "must be JSON" };
  }
  if (text === undefined || Buffer.byteLength(text) > MAX_PATTERN_BYTES) {
    return { path: [], message: `must be at most ${MAX_PATTERN_BYTES} bytes of JSON` };
  }
  return objectProblem(pattern, [], 1, { values: 0 });
}

function objectProblem(
  value: unknown,
  path: PatternPath,
  depth: number,
  budget: Budget,
): PatternProblem | undefined {
  if (!isObject(value)) return { path, message: "must be an object of fields" };
  const keys = Object.keys(value);
  if (keys.length === 0) return { path, message: "must name at least one field" };
  for (const key of keys) {
    const rule = value[key];
    const at = [...path, key];
    let problem: PatternProblem | undefined;
    if (key === "$or") {
      problem = orProblem(rule, at, depth, budget);
    } else if (Array.isArray(rule)) {
      problem = matchersProblem(rule, at, budget);
    } else if (isObject(rule)) {
      problem =
        depth >= MAX_PATTERN_DEPTH
          ? { path: at, message: `nests deeper than ${MAX_PATTERN_DEPTH} levels of fields` }
          : objectProblem(rule, at, depth + 1, budget);
    } else {
      problem = { path: at, message: "must be an array of values and matchers, or an object of fields" };
    }
    if (problem) return problem;
  }
  return undefined;
}

function orProblem(
  rule: unknown,
  path: PatternPath,
  depth: number,
  budget: Budget,
): PatternProblem | undefined {
  if (!Array.isArray(rule) || rule.length < 2) {
    return { path, message: "must be an array of at least two patterns" };
  }
  for (const [index, alternative] of rule.entries()) {
    // The alternatives' fields stand at the level of the `$or` itself.
    const problem = objectProblem(alternative, [...path, index], depth, budget);
    if (problem) return problem;
  }
  return undefined;
}

function matchersProblem(
  matchers: readonly unknown[],
  path: PatternPath,
  budget: Budget,
): PatternProblem | undefined {
  if (matchers.length === 0) return { path, message: "must list at least one value or matcher" };
  for (const [index, matcher] of matchers.entries()) {
    const at = [...path, index];
    const problem = isLeaf(matcher)
      ? spend(budget, at, 1)
      : isObject(matcher)
        ? matcherProblem(matcher, at, budget)
        : { path: at, message: "must be a string, number, boolean, null or a matcher object" };
    if (problem) return problem;
  }
  return undefined;
}

function spend(budget: Budget, path: PatternPath, values: number): PatternProblem | undefined {
  budget.values += values;
  return budget.values > MAX_PATTERN_VALUES
    ? { path, message: `the pattern compares with more than ${MAX_PATTERN_VALUES} values` }
    : undefined;
}

function matcherProblem(
  matcher: Readonly<Record<string, unknown>>,
  path: PatternPath,
  budget: Budget,
): PatternProblem | undefined {
  const [operator, ...extra] = Object.keys(matcher);
  if (operator === undefined || extra.length > 0) {
    return { path, message: `a matcher has exactly one operator: ${MATCH_OPERATORS.join(", ")}` };
  }
  const argument = matcher[operator];
  const at = [...path, operator];
  switch (operator) {
    case "prefix":
    case "suffix":
      return typeof argument === "string" ||
        (isObject(argument) &&
          Object.keys(argument).length === 1 &&
          typeof argument["equals-ignore-case"] === "string")
        ? spend(budget, at, 1)
        : { path: at, message: `must be a string, or {"equals-ignore-case": string}` };
    case "equals-ignore-case":
    case "wildcard":
      return typeof argument === "string" ? spend(budget, at, 1) : { path: at, message: "must be a string" };
    case "exists":
      return typeof argument === "boolean" ? undefined : { path: at, message: "must be true or false" };
    case "cidr":
      return typeof argument === "string" && validCidr(argument)
        ? spend(budget, at, 1)
        : { path: at, message: "must be an IPv4 CIDR block, e.g. 10.0.0.0/24" };
    case "numeric":
      return numericProblem(argument, at) ?? spend(budget, at, 1);
    case "anything-but":
      return anythingButProblem(argument, at, budget);
    default:
      return { path: at, message: `unknown operator; use one of: ${MATCH_OPERATORS.join(", ")}` };
  }
}

function numericProblem(argument: unknown, path: PatternPath): PatternProblem | undefined {
  const shape = `must be [operator, number] or a range [lower operator, number, upper operator, number]; operators: ${[...LOWER_BOUNDS, ...UPPER_BOUNDS, "="].join(" ")}`;
  if (!Array.isArray(argument) || (argument.length !== 2 && argument.length !== 4)) {
    return { path, message: shape };
  }
  const comparisons = [...LOWER_BOUNDS, ...UPPER_BOUNDS, "="];
  for (const [index, item] of argument.entries()) {
    if (index % 2 === 0 && !(typeof item === "string" && comparisons.includes(item))) {
      return { path: [...path, index], message: shape };
    }
    if (index % 2 === 1 && (typeof item !== "number" || !Number.isFinite(item))) {
      return { path: [...path, index], message: "must be a number" };
    }
  }
  const [first, , second] = argument;
  if (
    argument.length === 4 &&
    !(
      (LOWER_BOUNDS.includes(first) && UPPER_BOUNDS.includes(second)) ||
      (UPPER_BOUNDS.includes(first) && LOWER_BOUNDS.includes(second))
    )
  ) {
    return { path, message: "a range needs one lower bound (> or >=) and one upper bound (< or <=)" };
  }
  return undefined;
}

function anythingButProblem(
  argument: unknown,
  path: PatternPath,
  budget: Budget,
): PatternProblem | undefined {
  const stringOrNumber = (value: unknown) => typeof value === "string" || typeof value === "number";
  if (stringOrNumber(argument)) return spend(budget, path, 1);
  if (Array.isArray(argument)) {
    const allStrings = argument.every((value) => typeof value === "string");
    const allNumbers = argument.every((value) => typeof value === "number");
    if (argument.length === 0 || !(allStrings || allNumbers)) {
      return { path, message: "must list only strings or only numbers, at least one" };
    }
    return spend(budget, path, argument.length);
  }
  const [operator, ...extra] = isObject(argument) ? Object.keys(argument) : [];
  const inner = isObject(argument) && operator !== undefined ? argument[operator] : undefined;
  if (
    operator === undefined ||
    extra.length > 0 ||
    !(STRING_OPERATORS as readonly string[]).includes(operator)
  ) {
    return {
      path,
      message: `must be a string, a number, a list of them, or one of ${STRING_OPERATORS.join(", ")}`,
    };
  }
  const at = [...path, operator];
  if (typeof inner === "string") return spend(budget, at, 1);
  if (Array.isArray(inner) && inner.length > 0 && inner.every((value) => typeof value === "string")) {
    return spend(budget, at, inner.length);
  }
  return { path: at, message: "must be a string or a list of strings" };
}

function validCidr(cidr: string): boolean {
  const [base = "", bits, ...rest] = cidr.split("/");
  return (
    rest.length === 0 && ipv4(base) !== undefined && (bits === undefined || /^(\d|[12]\d|3[0-2])$/.test(bits))
  );
}
