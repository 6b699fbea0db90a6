/**
 * Opaque, tamper-proof page cursors.
 *
 * A cursor is `base64url(JSON of the position)` + `.` + `base64url(HMAC-SHA256)`. The MAC covers the
 * tenant id as well as the position, so a cursor is only accepted from the tenant it was issued to,
 * and any change to it (or one made up) is refused. The position is the DynamoDB key where the
 * previous page stopped; the query behind it is always scoped to the caller's own partition anyway,
 * so even a forged position could not reach another tenant's data. The key is the caller's to keep
 * (see `adapters/cursor-key.ts`); this module is pure.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { ValidationError } from "./errors.ts";

export type CursorPosition = Readonly<Record<string, string | number>>;

const MAX_CURSOR_LENGTH = 2048;

function mac(key: Uint8Array, tenantId: string, encodedPosition: string): Buffer {
  return createHmac("sha256", key).update(`hookline-cursor.v1\n${tenantId}\n${encodedPosition}`).digest();
}

export function encodeCursor(key: Uint8Array, tenantId: string, position: CursorPosition): string {
  const encoded = Buffer.from(JSON.stringify(position)).toString("base64url");
  return `${encoded}.${mac(key, tenantId, encoded).toString("base64url")}`;
}

/** The position a cursor holds, or a ValidationError when it was altered, forged or issued to someone else. */
export function decodeCursor(key: Uint8Array, tenantId: string, cursor: string): CursorPosition {
  const invalid = () =>
    new ValidationError("cursor is not valid: pass next_cursor exactly as a previous page returned it", [
      { path: "cursor", message: "not a cursor this API issued to you" },
    ]);
  if (cursor.length > MAX_CURSOR_LENGTH) throw invalid();
  const [encoded, signature, ...rest] = cursor.split(".");
  if (encoded === undefined || signature === undefined || rest.length > 0) throw invalid();
  const given = Buffer.from(signature, "base64url");
  const expected = mac(key, tenantId, encoded);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid();
  let position: unknown;
  try {
    position = JSON.parse(Buffer.from(encoded, "base64url").toString("utf8"));
  } catch {
    throw invalid();
  }
  const valid =
    typeof position === "object" &&
    position !== null &&
    !Array.isArray(position) &&
    Object.values(position).every((value) => typeof value === "string" || typeof value === "number");
  if (!valid) throw invalid();
  return position as CursorPosition;
}
