/**
 * Characters written as `\uXXXX` escapes in a queue message: all but #x9 | #xA | #xD | #x20–#xD7FF |
 * #xE000–#xFFFD, checked per UTF-16 code unit. SQS itself also accepts #x10000–#x10FFFF, but the local
 * emulator (fauxqs) checks code units and would refuse every emoji, so characters outside the Basic
 * Multilingual Plane travel as escaped surrogate pairs too. In `JSON.stringify`'s output such characters
 * can only stand inside a string literal.
 */
const ESCAPED = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD]/g;

/**
 * A message as an SQS body: JSON whose characters SQS may refuse are written as `\uXXXX` escapes. It
 * parses back to the same value, so an event's payload (a string inside the message) reaches the
 * receiver exactly as it was signed and stored, whatever valid JSON the publisher sent. Escaping makes
 * a payload at most three times longer, so one inlined in a message (64 KB at most) stays under SQS's
 * 256 KB.
 */
export function queueBody(message: unknown): string {
  return JSON.stringify(message).replace(
    ESCAPED,
    (unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}
