/**
 * The README's shell blocks, as `test/e2e/readme.test.ts` runs them, and the bash script that runs them
 * in order. A block is marked with an HTML comment on the line before its fence:
 *
 * - `<!-- readme-test: skip (why) -->`: not run (it starts a stack, deploys, or runs until stopped);
 * - `<!-- readme-test: background (why) -->`: started in the background, as a second terminal would run
 *   it, and stopped when the script ends.
 */

export interface ShellBlock {
  /** 1-based line of the block's first command in the README. */
  readonly line: number;
  /** The commands, without the fence's indentation. */
  readonly lines: readonly string[];
  readonly mode: "run" | "skip" | "background";
  readonly reason?: string;
}

const FENCE = /^(\s*)```(\S*)\s*$/;
const DIRECTIVE = /<!--\s*readme-test:\s*(\S+)\s*(?:\((.*)\))?\s*-->/;

/** Every ```sh block of `markdown`, in order; throws on a marker it does not know or one without a reason. */
export function shellBlocks(markdown: string): ShellBlock[] {
  const lines = markdown.split("\n");
  const blocks: ShellBlock[] = [];
  for (let index = 0; index < lines.length; index += 1) {
    const open = FENCE.exec(lines[index] ?? "");
    if (!open) continue;
    const indent = open[1]?.length ?? 0;
    const body: string[] = [];
    let end = index + 1;
    while (end < lines.length && !/^\s*```\s*$/.test(lines[end] ?? "")) {
      body.push((lines[end] ?? "").slice(Math.min(indent, leadingSpaces(lines[end] ?? ""))));
      end += 1;
    }
    if (open[2] === "sh") blocks.push({ line: index + 2, lines: body, ...marker(lines, index) });
    index = end;
  }
  return blocks;
}

function leadingSpaces(line: string): number {
  return line.length - line.trimStart().length;
}

/** What the marker on the line before the fence at `fence` asks, if there is one. */
function marker(lines: readonly string[], fence: number): Pick<ShellBlock, "mode" | "reason"> {
  const previous = lines[fence - 1]?.trim() ?? "";
  if (!previous.includes("readme-test")) return { mode: "run" };
  const directive = DIRECTIVE.exec(previous);
  const mode = directive?.[1];
  const reason = directive?.[2]?.trim();
  if ((mode !== "skip" && mode !== "background") || !reason) {
    throw new Error(
      `README.md line ${fence}: "${previous}" is not "<!-- readme-test: skip (why) -->" or "<!-- readme-test: background (why) -->"`,
    );
  }
  return { mode, reason };
}

/** The ports the README's receivers use (`--port 4000`, `127.0.0.1:4000`, `PORT=4000`), each given another. */
export function withPorts(text: string, ports: ReadonlyMap<string, number>): string {
  return text.replace(/(:|--port |PORT=)(\d{4,5})\b/g, (match, before: string, port: string) => {
    const replacement = ports.get(port);
    return replacement === undefined ? match : `${before}${replacement}`;
  });
}

/** The receiver ports the blocks mention, in order of first mention. */
export function receiverPorts(blocks: readonly ShellBlock[]): string[] {
  const ports = new Set<string>();
  for (const block of blocks) {
    for (const match of block.lines.join("\n").matchAll(/--port (\d{4,5})\b/g)) {
      if (match[1] !== undefined) ports.add(match[1]);
    }
  }
  return [...ports];
}

/**
 * One bash script that runs the blocks in order with `set -e -o pipefail`. Before each command it
 * records the README line the command starts on, so that a failure names the block and the line.
 * `curl` fails on an HTTP error answer, as a person reading the answer would notice it.
 */
export function script(blocks: readonly ShellBlock[], backgroundLog: (block: ShellBlock) => string): string {
  const out: string[] = [
    "set -e -o pipefail",
    'curl() { command curl --fail-with-body --show-error "$@"; }',
    "README_LINE=0",
    "trap 'echo \"README_FAILED block=$README_BLOCK line=$README_LINE status=$?\" >&2' ERR",
  ];
  for (const block of blocks) {
    if (block.mode === "skip") continue;
    out.push(`README_BLOCK=${block.line}`);
    out.push(`echo "### README.md line ${block.line}"`);
    if (block.mode === "background") {
      out.push(`( ${block.lines.join("\n")}\n) > ${quote(backgroundLog(block))} 2>&1 &`);
      continue;
    }
    block.lines.forEach((text, offset) => {
      // A continuation line belongs to the command above; a line inside it cannot hold an assignment.
      const continues = offset > 0 && /\\\s*$/.test(block.lines[offset - 1] ?? "");
      const open = offset > 0 && unclosedQuote(block.lines.slice(0, offset).join("\n"));
      if (!continues && !open && text.trim() !== "") out.push(`README_LINE=${block.line + offset}`);
      out.push(text);
    });
  }
  out.push('echo "README_DONE"');
  return `${out.join("\n")}\n`;
}

/** Whether `text` leaves a single- or double-quoted string open (a command spread over lines). */
function unclosedQuote(text: string): boolean {
  let quoteChar: string | undefined;
  for (let index = 0; index < text.length; index += 1) {
    const char = text[index];
    if (quoteChar === undefined) {
      if (char === "\\") index += 1;
      else if (char === "'" || char === '"') quoteChar = char;
      else if (char === "#" && (index === 0 || /\s/.test(text[index - 1] ?? ""))) {
        const newline = text.indexOf("\n", index);
        if (newline < 0) break;
        index = newline;
      }
    } else if (char === quoteChar) quoteChar = undefined;
    else if (quoteChar === '"' && char === "\\") index += 1;
  }
  return quoteChar !== undefined;
}

function quote(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}
