/** How the operator commands print: aligned tables for people, JSON for scripts. Pure formatting. */

/** Columns padded to their widest cell, two spaces apart, without trailing blanks. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? "").length)),
  );
  return [header, ...rows].map((row) =>
    header
      .map((_, column) => (row[column] ?? "").padEnd(widths[column] ?? 0))
      .join("  ")
      .trimEnd(),
  );
}

/** `label  value` lines with the labels aligned, for one record; absent values are left out. */
export function formatFields(fields: readonly (readonly [string, string | undefined])[]): string[] {
  const shown = fields.filter((field): field is readonly [string, string] => field[1] !== undefined);
  const width = Math.max(0, ...shown.map(([label]) => label.length));
  return shown.map(([label, value]) => `${`${label}:`.padEnd(width + 1)}  ${value}`);
}

/** A cell for an optional value: empty when absent. */
export function cell(value: string | number | boolean | null | undefined): string {
  return value === undefined || value === null ? "" : String(value);
}

/** At most `max` characters of `text`, its end replaced by `…` when cut, so a table stays readable. */
export function truncated(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(0, max - 1))}…`;
}

/** Milliseconds as a person reads them: `87 ms`, `1.2 s`. */
export function formatDuration(ms: number | undefined): string {
  if (ms === undefined) return "";
  return ms < 1_000 ? `${Math.round(ms)} ms` : `${(ms / 1_000).toFixed(1)} s`;
}

/** The lines of a table, or `empty` when there are no rows. */
export function tableOrEmpty(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  empty: string,
): string[] {
  return rows.length === 0 ? [empty] : formatTable(header, rows);
}

export function printLines(lines: readonly string[]): void {
  for (const line of lines) console.log(line);
}

export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}
