/**
 * Characters SQS refuses in a message body (it accepts only #x9 | #xA | #xD | #x20–#xD7FF |
 * #xE000–#xFFFD | #x10000–#x10FFFF). In `JSON.stringify`'s output they can only stand inside a string
 * literal, and only as U+FFFE or U+FFFF: it escapes control characters and lone surrogates itself.
 */
const REFUSED_BY_SQS = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/**
 * A message as an SQS body: JSON whose characters SQS refuses are written as `\uXXXX` escapes. It
 * parses back to the same value, so an event's payload (a string inside the message) reaches the
 * receiver exactly as it was signed and stored, whatever valid JSON the publisher sent.
 */
export function queueBody(message: unknown): string {
  return JSON.stringify(message).replace(
    REFUSED_BY_SQS,
    (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}
