import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { receiverPorts, script, shellBlocks, withPorts } from "../support/readme-blocks.ts";

const README = [
  "# Title", //                                   1
  "", //                                          2
  "<!-- readme-test: skip (starts the stack) -->", // 3
  "```sh", //                                     4
  "npm start", //                                 5
  "```", //                                       6
  "1. A step:", //                                7
  "", //                                          8
  "   ```sh", //                                  9
  "   A=$(echo one \\", //                        10
  "     two)", //                                 11
  '   echo \'{"a":', //                          12
  "     1}'", //                                  13
  "   ```", //                                    14
  "```json", //                                   15
  '{"not": "shell"}', //                          16
  "```", //                                       17
  "<!-- readme-test: background (a receiver) -->", // 18
  "```sh", //                                     19
  "npm run receiver -- --port 4000", //           20
  "```", //                                       21
  "```sh", //                                     22
  "echo http://127.0.0.1:4000/hooks", //          23
  "false", //                                     24
  "```", //                                       25
].join("\n");

describe("the README's shell blocks", () => {
  it("are read in order, without their list indentation, with what their marker asks", () => {
    const blocks = shellBlocks(README);
    expect(blocks.map(({ line, mode }) => [line, mode])).toEqual([
      [5, "skip"],
      [10, "run"],
      [20, "background"],
      [23, "run"],
    ]);
    expect(blocks[0]?.reason).toBe("starts the stack");
    expect(blocks[1]?.lines).toEqual(["A=$(echo one \\", "  two)", 'echo \'{"a":', "  1}'"]);
  });

  it("refuse a marker they do not know, or one without its reason", () => {
    expect(() => shellBlocks("<!-- readme-test: skipp (typo) -->\n```sh\nls\n```")).toThrow(/line 1/);
    expect(() => shellBlocks("<!-- readme-test: skip -->\n```sh\nls\n```")).toThrow(/skip \(why\)/);
  });

  it("swap the receivers' ports for the ones given", () => {
    const blocks = shellBlocks(README);
    expect(receiverPorts(blocks)).toEqual(["4000"]);
    const text = withPorts("--port 4000 http://127.0.0.1:4000/x PORT=4000 :3000", new Map([["4000", 4567]]));
    expect(text).toBe("--port 4567 http://127.0.0.1:4567/x PORT=4567 :3000");
  });

  it("run as one script that names the README line of the command that failed", () => {
    const blocks = shellBlocks(README).filter((block) => block.mode !== "background");
    let output = "";
    try {
      execFileSync("bash", ["-c", script(blocks, () => "/dev/null")], { encoding: "utf8", stdio: "pipe" });
    } catch (error) {
      output = String((error as { stderr?: string }).stderr) + String((error as { stdout?: string }).stdout);
    }
    expect(output).toContain("README_FAILED block=23 line=24 status=");
    expect(output).not.toContain("README_DONE");
  });
});
