/**
 * Serves the web console's static files (built next to this bundle, see console/build.ts) at
 * `<ApiUrl>/console/`. A function of its own rather than the management function: it needs no AWS SDK,
 * no table and no configuration, so its cold start is a file read, and the management function's bundle
 * and cold start stay as they were (docs/operations.md, "The web console").
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { CONSOLE_ASSETS_FOLDER, CONSOLE_PATH } from "../shared/names.ts";
import { assetResponse, CONSOLE_SECURITY_HEADERS } from "./assets.ts";

const assetsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), CONSOLE_ASSETS_FOLDER);

/** Files read once per instance: they change only with a deployment. */
const cache = new Map<string, Promise<Buffer | undefined>>();

function read(name: string): Promise<Buffer | undefined> {
  let file = cache.get(name);
  if (file === undefined) {
    file = readFile(path.join(assetsDir, name)).catch(() => undefined);
    cache.set(name, file);
  }
  return file;
}

export async function handler(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  // A relative asset URL in the page resolves against `/console/`, never `/console`.
  if (event.rawPath === CONSOLE_PATH.slice(0, -1)) {
    return { statusCode: 308, headers: { ...CONSOLE_SECURITY_HEADERS, location: CONSOLE_PATH }, body: "" };
  }
  return assetResponse(event.pathParameters?.proxy ?? "", read);
}
