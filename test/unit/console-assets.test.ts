import { describe, expect, it } from "vitest";
import { assetResponse } from "../../functions/console-assets/assets.ts";

const files: Record<string, string> = { "index.html": "<!doctype html>", "app.js": "export {}" };
const read = async (name: string) => (name in files ? Buffer.from(files[name] ?? "") : undefined);

describe("the console's static files", () => {
  it("serve the page at /console/ and its assets by name, with their types", async () => {
    const page = await assetResponse("", read);
    expect(page.statusCode).toBe(200);
    expect(page.headers?.["content-type"]).toBe("text/html; charset=utf-8");
    expect(Buffer.from(String(page.body), "base64").toString()).toBe("<!doctype html>");
    const script = await assetResponse("app.js", read);
    expect(script.headers?.["content-type"]).toBe("text/javascript; charset=utf-8");
  });

  it("forbid inline and foreign script, and allow embedding in a frame (the portal)", async () => {
    const csp = String((await assetResponse("", read)).headers?.["content-security-policy"]);
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self';");
    expect(csp).not.toContain("unsafe-inline");
    expect(csp).toContain("frame-ancestors *");
  });

  it("answer 404 for anything else, paths that try to leave the folder included", async () => {
    for (const name of ["nope.js", "../handler.mjs", "..%2Fhandler.mjs", ".env", "sub/app.js", "app.ts"]) {
      const response = await assetResponse(name, read);
      expect(response.statusCode).toBe(404);
      expect(response.headers?.["content-security-policy"]).toBeDefined();
    }
  });
});
