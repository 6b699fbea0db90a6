#!/usr/bin/env node
import { App } from "aws-cdk-lib";
import { LOCAL_CONTEXT_KEY, STRICT_TARGETS_CONTEXT_KEY } from "../functions/shared/names.ts";
import { HooklineStack } from "../lib/hookline-stack.ts";

const app = new App();
const isTrue = (key: string) => String(app.node.tryGetContext(key)) === "true";

// The local runtime (`npm start`) synthesizes with `hookline:local=true`, which lets receivers on this
// machine be registered; a deployment never gets that unless someone passes the context on purpose.
const local = isTrue(LOCAL_CONTEXT_KEY) && !isTrue(STRICT_TARGETS_CONTEXT_KEY);

new HooklineStack(app, "Hookline", {
  description: "Hookline: webhook delivery (https://github.com/hookline/hookline)",
  hookline: local
    ? { endpointSafety: { allowInsecureHttp: true, allowPrivateTargets: true, allowedPorts: "any" } }
    : {},
});
