import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";

/**
 * On every answer. `script-src 'self'`: no inline script and nothing from elsewhere, so an injected
 * payload shown in the console cannot run. `frame-ancestors *` rather than `X-Frame-Options: DENY`: the
 * portal is meant to be embedded in a customer's own dashboard (an iframe), and its token travels in the
 * URL's fragment, never in a cookie, so a framing page gains no ambient authority from it. Operators who
 * never embed it can narrow this at a CDN or with their own route (docs/operations.md).
 */
export const CONSOLE_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy":
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors *",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
};

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".map": "application/json",
};

/** File names the console has: no folder, no dot-file, so no path can leave the assets folder. */
const ASSET_NAME = /^[a-z0-9][a-z0-9._-]*$/i;

/**
 * The answer for a path under `/console/`: the file, or the page itself for any other path (the console
 * routes in its fragment, so only `index.html` and its assets exist), or 404 for a malformed name.
 */
export async function assetResponse(
  requested: string,
  read: (name: string) => Promise<Buffer | undefined>,
): Promise<APIGatewayProxyStructuredResultV2> {
  const name = requested === "" ? "index.html" : requested;
  const extension = name.slice(name.lastIndexOf("."));
  const contentType = CONTENT_TYPES[extension];
  const file = ASSET_NAME.test(name) && contentType !== undefined ? await read(name) : undefined;
  if (file === undefined || contentType === undefined) {
    return {
      statusCode: 404,
      headers: { ...CONSOLE_SECURITY_HEADERS, "content-type": "text/plain; charset=utf-8" },
      body: "not found",
    };
  }
  return {
    statusCode: 200,
    headers: {
      ...CONSOLE_SECURITY_HEADERS,
      "content-type": contentType,
      // The page names its assets without a version, so nothing may be kept past a deployment for long.
      "cache-control": name === "index.html" ? "no-cache" : "public, max-age=300",
    },
    body: file.toString("base64"),
    isBase64Encoded: true,
  };
}
