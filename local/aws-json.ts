/**
 * A small server for the AWS JSON protocols (awsJson1_0 / awsJson1_1) that the local EventBridge and
 * Step Functions APIs speak: `POST /` with `X-Amz-Target: <Service>.<Operation>` and a JSON body. The
 * real `@aws-sdk/client-*` clients talk to it when `AWS_ENDPOINT_URL_<SERVICE>` points here. Errors are
 * `{"__type": "...", "message": "..."}`, which the SDK turns into its typed exceptions.
 */
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** An error the SDK should see as the named exception (e.g. `ExecutionAlreadyExists`). */
export class AwsServiceError extends Error {
  override readonly name = "AwsServiceError";
  readonly type: string;
  readonly statusCode: number;

  constructor(type: string, message: string, statusCode = 400) {
    super(message);
    this.type = type;
    this.statusCode = statusCode;
  }
}

export type Operation = (input: Record<string, unknown>) => Promise<unknown> | unknown;

/** Operations by target prefix (`AWSEvents`, `AWSStepFunctions`) and operation name. */
export type ServiceTable = Record<
  string,
  { readonly contentType: string; readonly operations: Record<string, Operation> }
>;

export class AwsJsonServer {
  readonly #server: http.Server;
  #services: ServiceTable = {};

  constructor() {
    this.#server = http.createServer((request, response) => {
      void this.#handle(request, response);
    });
  }

  listen(port: number, hostname: string): Promise<string> {
    return new Promise((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(port, hostname, () => {
        const address = this.#server.address() as AddressInfo;
        resolve(`http://${address.address}:${address.port}`);
      });
    });
  }

  serve(services: ServiceTable): void {
    this.#services = services;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const target = String(request.headers["x-amz-target"] ?? "");
    const [prefix = "", operationName = ""] = target.split(".");
    const service = this.#services[prefix];
    const contentType = service?.contentType ?? "application/x-amz-json-1.1";
    try {
      const operation = service?.operations[operationName];
      if (request.method !== "POST" || operation === undefined) {
        throw new AwsServiceError(
          "UnknownOperationException",
          `the local runtime does not implement ${target || request.url}`,
        );
      }
      const body = await readAll(request);
      const input: unknown = body.length === 0 ? {} : JSON.parse(body.toString("utf8"));
      if (typeof input !== "object" || input === null || Array.isArray(input)) {
        throw new AwsServiceError("SerializationException", "the request body is not a JSON object");
      }
      const output = await operation(input as Record<string, unknown>);
      reply(response, 200, contentType, output ?? {});
    } catch (error) {
      if (error instanceof AwsServiceError) {
        reply(
          response,
          error.statusCode,
          contentType,
          { __type: error.type, message: error.message },
          error.type,
        );
      } else if (error instanceof SyntaxError) {
        reply(
          response,
          400,
          contentType,
          { __type: "SerializationException", message: error.message },
          "SerializationException",
        );
      } else {
        console.error(`[local] ${target} failed:`, error);
        reply(
          response,
          500,
          contentType,
          { __type: "InternalFailure", message: String(error) },
          "InternalFailure",
        );
      }
    }
  }
}

function reply(
  response: ServerResponse,
  status: number,
  contentType: string,
  body: unknown,
  errorType?: string,
): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    "content-type": contentType,
    "content-length": Buffer.byteLength(text),
    ...(errorType === undefined ? {} : { "x-amzn-errortype": errorType }),
  });
  response.end(text);
}

function readAll(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => resolve(Buffer.concat(chunks)));
    request.on("error", reject);
  });
}
