// A TypeScript user of web/client.js, compiled by tsc under strict (never
// run): what compiles here is what the declarations promise, and each
// `@ts-expect-error` is a misuse they must refuse. tests/types.rs runs it.
import {
  BlockedError,
  type CallInfo,
  CODE_NAMES,
  ConnectError,
  type GreetResult,
  GrpcWebError,
  greetConnect,
  greetGrpcWeb,
  greetRest,
  HttpError,
  type Protocol,
} from "../../web/client.js";

const api = "http://localhost:5000";

/** Every greet function has one shape. */
const clients: Record<Protocol, (baseUrl: string, request?: { name?: string; lang?: string }) => Promise<GreetResult>> = {
  rest: greetRest,
  "grpc-web": greetGrpcWeb,
  connect: greetConnect,
};

/** A line for a log: what the browser saw. */
function describe(call: CallInfo): string {
  const status: string = call.status === null ? "blocked" : String(call.status);
  const grpc: string = call.grpcStatus === null ? "-" : CODE_NAMES[call.grpcStatus] ?? "?";
  return `${call.protocol} ${call.url} ${status} ${grpc} ${call.requestId ?? "-"} ${call.latencyMs.toFixed(1)} ms`;
}

/** Every way a call can fail, told apart by class; each carries its call. */
function explain(error: unknown): string {
  if (error instanceof HttpError) return `HTTP ${error.status}: ${error.message} (${error.call?.requestId})`;
  if (error instanceof GrpcWebError) return `${error.codeName} (${error.code}): ${error.message}`;
  if (error instanceof ConnectError) return `${error.code} (HTTP ${error.status}): ${error.message}`;
  if (error instanceof BlockedError) {
    const nothing: null = error.call.status; // no response reached the page
    return `${error.message} [${error.origin}] ${nothing}`;
  }
  return String(error);
}

export async function greetEverywhere(): Promise<string[]> {
  const lines: string[] = [];
  for (const protocol of Object.keys(clients) as Protocol[]) {
    try {
      const { greeting, timestamp, call } = await clients[protocol](api, { name: "Alice", lang: "es" });
      lines.push(`${greeting} at ${new Date(timestamp).toISOString()}: ${describe(call)}`);
    } catch (error) {
      lines.push(explain(error));
    }
  }
  // The request is optional, and so is each field; null means "not set" too.
  await greetRest(api);
  await greetGrpcWeb(api, { name: null, lang: "fr" });
  return lines;
}

export async function misuses(): Promise<void> {
  // @ts-expect-error name is a string
  await greetRest(api, { name: 42 });
  // @ts-expect-error the base URL comes first and is required
  await greetGrpcWeb({ name: "Alice" });
  // @ts-expect-error no such field in a GreetRequest
  await greetConnect(api, { nom: "Alice" });
  const { call } = await greetRest(api, { name: "Alice" });
  // @ts-expect-error status is null when the browser blocked the call
  call.status.toFixed();
  // @ts-expect-error a requestId may be absent
  call.requestId.length;
  // @ts-expect-error "grpc" is not a protocol of client.js (native gRPC needs HTTP/2 trailers)
  if (call.protocol === "grpc") return;
  // @ts-expect-error what the browser saw is read-only
  call.latencyMs = 0;
  // @ts-expect-error a Connect code is lower-case, as on the wire
  const code: ConnectError["code"] = "INVALID_ARGUMENT";
  void code;
}
