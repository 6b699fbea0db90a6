/**
 * Times the module load (import) of one function bundle in this fresh process, resolving the AWS SDK as
 * the Lambda runtime (and local/lambda-worker.ts) does: from the project's node_modules. Run by
 * bench/run.ts as `node bench/load-bundle.ts <bundle file> <project package.json>` with the function's
 * environment; prints `{"ms": <load time>}` or `{"error": "..."}`.
 */
import { registerHooks } from "node:module";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";

const [bundleFile, runtimeModulesFrom] = process.argv.slice(2);
if (bundleFile === undefined || runtimeModulesFrom === undefined) {
  throw new Error("usage: node bench/load-bundle.ts <bundle file> <project package.json>");
}
const runtimeParent = pathToFileURL(runtimeModulesFrom).href;
registerHooks({
  resolve(specifier, context, nextResolve) {
    if (/^@(aws-sdk|smithy|aws-crypto)\//.test(specifier)) {
      return nextResolve(specifier, { ...context, parentURL: runtimeParent });
    }
    return nextResolve(specifier, context);
  },
});

const started = performance.now();
try {
  await import(pathToFileURL(bundleFile).href);
  process.stdout.write(`${JSON.stringify({ ms: performance.now() - started })}\n`);
} catch (error) {
  process.stdout.write(`${JSON.stringify({ error: (error as Error).message })}\n`);
}
// The bundle may have opened handles (keep-alive agents); the measurement is done.
process.exit(0);
