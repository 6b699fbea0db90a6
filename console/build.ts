/**
 * Builds the web console into a folder: `index.html`, `app.js` (the app, preact, htm and uPlot in one
 * minified module) and `app.css`. The CDK bundling of the console function runs it after esbuild has
 * bundled the handler, with the bundle's folder as the target, so the files ship in the function's
 * asset (lib/api.ts) and nothing is fetched from a CDN at run time.
 *
 *   node console/build.ts <outDir>
 */
import { copyFile, mkdir } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = path.dirname(fileURLToPath(import.meta.url));

export async function buildConsole(outDir: string): Promise<void> {
  await mkdir(outDir, { recursive: true });
  await build({
    entryPoints: { app: path.join(here, "main.ts"), styles: path.join(here, "app.css") },
    outdir: outDir,
    entryNames: "[name]",
    bundle: true,
    minify: true,
    format: "esm",
    platform: "browser",
    target: ["chrome120", "firefox120", "safari17"],
    legalComments: "none",
    logLevel: "warning",
  });
  await copyFile(path.join(here, "index.html"), path.join(outDir, "index.html"));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const outDir = process.argv[2];
  if (outDir === undefined) throw new Error("usage: node console/build.ts <outDir>");
  await buildConsole(path.resolve(outDir));
}
