import { type ErrorDetail, ValidationError } from "./errors.ts";

/**
 * Event data as JSON text, and the checks on it. Data arrives parsed from JSON (the API's body, an
 * EventBridge detail), so it holds only null, booleans, numbers, strings, arrays and plain objects.
 */

/** One array or object being walked: its entries, and how many of them are done. */
interface Frame {
  readonly entries: readonly (readonly [string | number, unknown])[];
  readonly isArray: boolean;
  index: number;
}

function frameOf(value: object): Frame {
  const isArray = Array.isArray(value);
  const entries = isArray
    ? value.map((item, index) => [index, item] as const)
    : Object.entries(value).filter(([, item]) => item !== undefined);
  return { entries, isArray, index: 0 };
}

/**
 * JSON text of JSON data, the same as `JSON.stringify` gives, but walked with a stack of its own:
 * `JSON.stringify` recurses, and runs out of call stack at a few thousand levels of nesting in a
 * Lambda function, where a publisher's 256 KB can nest tens of thousands deep.
 */
export function jsonText(value: unknown): string {
  const out: string[] = [];
  const stack: Frame[] = [];
  const write = (item: unknown) => {
    if (item !== null && typeof item === "object") {
      const frame = frameOf(item);
      out.push(frame.isArray ? "[" : "{");
      stack.push(frame);
    } else {
      // Scalars do not recurse; `undefined` stands in an array only, where JSON.stringify writes null.
      out.push(JSON.stringify(item) ?? "null");
    }
  };
  write(value);
  for (let frame = stack.at(-1); frame; frame = stack.at(-1)) {
    const entry = frame.entries[frame.index];
    if (entry === undefined) {
      out.push(frame.isArray ? "]" : "}");
      stack.pop();
      continue;
    }
    if (frame.index > 0) out.push(",");
    frame.index += 1;
    if (!frame.isArray) out.push(`${JSON.stringify(entry[0])}:`);
    write(entry[1]);
  }
  return out.join("");
}

/** How many problems one refusal lists. */
const MAX_LISTED_PROBLEMS = 10;

/**
 * Refuses data that JSON text can hold but a delivery could not carry as sent: a number beyond a
 * double's range (`1e400`) parses to Infinity, and would reach the receiver as `null`. Each problem
 * has its path (`data.items[2].total`).
 */
export function assertDeliverableData(data: unknown, path = "data"): void {
  const problems: ErrorDetail[] = [];
  const stack: Frame[] = [];
  const pathHere = () =>
    stack
      .map((frame) => frame.entries[frame.index - 1]?.[0])
      .reduce<string>((at, key) => (typeof key === "number" ? `${at}[${key}]` : `${at}.${key}`), path);
  const visit = (item: unknown) => {
    if (item !== null && typeof item === "object") stack.push(frameOf(item));
    else if (typeof item === "number" && !Number.isFinite(item)) {
      problems.push({ path: pathHere(), message: "a number too large for a double (at most ±1.8e308)" });
    }
  };
  visit(data);
  for (let frame = stack.at(-1); frame && problems.length < MAX_LISTED_PROBLEMS; frame = stack.at(-1)) {
    const entry = frame.entries[frame.index];
    if (entry === undefined) {
      stack.pop();
      continue;
    }
    frame.index += 1;
    visit(entry[1]);
  }
  if (problems.length > 0) {
    throw new ValidationError(
      `event data is not valid: ${problems.map((p) => `${p.path}: ${p.message}`).join("; ")}`,
      problems,
    );
  }
}
