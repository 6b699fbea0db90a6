/**
 * CloudWatch Logs' side of the functions' output, locally: the most recent lines every function wrote,
 * kept in a bounded ring with a sequence number each, and served at `GET /_local/logs?after=<seq>`, so
 * that a command (`hookline tail`) can follow them as it would follow a log group.
 */
import type { LogLine } from "./lambda-host.ts";

/** One function output line, as `/_local/logs` serves it. */
export interface RecordedLogLine {
  /** 1 for the first line the stack printed, then one more for each line. */
  readonly seq: number;
  /** When the local runtime received the line (ISO 8601). */
  readonly at: string;
  readonly function_logical_id: string;
  readonly function_name: string;
  readonly stream: "stdout" | "stderr";
  readonly line: string;
}

export interface LogPage {
  readonly lines: readonly RecordedLogLine[];
  /** Pass as `after` to get the lines that follow this page. */
  readonly next: number;
  /** Lines after `after` that had already left the ring: the reader fell behind by this many. */
  readonly dropped: number;
}

/** At most this many lines are kept by default: the newest ones. */
export const DEFAULT_LOG_CAPACITY = 10_000;
/** At most this many lines per page. */
export const MAX_LOG_PAGE = 1_000;

export class LogRing {
  readonly #capacity: number;
  readonly #lines: RecordedLogLine[] = [];
  #start = 0;
  #lastSeq = 0;
  readonly #now: () => Date;

  constructor(capacity = DEFAULT_LOG_CAPACITY, now: () => Date = () => new Date()) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error("the log capacity must be ≥ 1");
    this.#capacity = capacity;
    this.#now = now;
  }

  observe(entry: LogLine): void {
    this.#lastSeq += 1;
    const recorded: RecordedLogLine = {
      seq: this.#lastSeq,
      at: this.#now().toISOString(),
      function_logical_id: entry.functionLogicalId,
      function_name: entry.functionName,
      stream: entry.stream,
      line: entry.line,
    };
    if (this.#lines.length < this.#capacity) {
      this.#lines.push(recorded);
    } else {
      this.#lines[this.#start] = recorded;
      this.#start = (this.#start + 1) % this.#capacity;
    }
  }

  /**
   * The lines after sequence number `after`, oldest first, at most `limit` of them. Without `after`,
   * none: only the cursor of the newest line, for a reader that wants what happens from now on.
   */
  page(after: number | undefined, limit = MAX_LOG_PAGE): LogPage {
    if (after === undefined) return { lines: [], next: this.#lastSeq, dropped: 0 };
    const oldest = this.#lastSeq - this.#lines.length + 1;
    const from = Math.max(after + 1, oldest);
    const count = Math.max(0, Math.min(limit, this.#lastSeq - from + 1));
    const lines: RecordedLogLine[] = [];
    for (let seq = from; seq < from + count; seq += 1) {
      const line = this.#lines[(this.#start + (seq - oldest)) % this.#lines.length];
      if (line) lines.push(line);
    }
    return {
      lines,
      // A cursor from before a restart (beyond the newest line) starts over from the newest line.
      next: lines.at(-1)?.seq ?? Math.min(after, this.#lastSeq),
      dropped: Math.max(0, oldest - (after + 1)),
    };
  }

  /** Answers `GET /_local/logs?after=<seq>&limit=<n>`. */
  serve(query: URLSearchParams): LogPage {
    const after = whole(query.get("after"));
    const limit = whole(query.get("limit"));
    return this.page(after, Math.min(limit ?? MAX_LOG_PAGE, MAX_LOG_PAGE));
  }
}

function whole(value: string | null): number | undefined {
  if (value === null || !/^\d{1,15}$/.test(value)) return undefined;
  return Number(value);
}
