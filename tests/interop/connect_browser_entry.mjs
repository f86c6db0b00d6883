// The browser side of browser_client.mjs for connect-web: its transports for
// fetch (@connectrpc/connect-web: gRPC-Web, and the Connect protocol in JSON
// or binary) and the GreetService that protoc-gen-es generated from
// proto/greet/v1/greet.proto. setup.sh bundles this module, dependencies
// and all, into gen/browser/connect.js: one ES module a page can import.
import { toJson } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { GreetResponseSchema, GreetService } from "./gen/js/greet/v1/greet_pb.js";

const transports = {
  "grpc-web": (baseUrl) => createGrpcWebTransport({ baseUrl }),
  "connect-json": (baseUrl) => createConnectTransport({ baseUrl, useBinaryFormat: false }),
  "connect-binary": (baseUrl) => createConnectTransport({ baseUrl, useBinaryFormat: true }),
};

/**
 * One Greet call to `baseUrl` over `options.transport` (default gRPC-Web),
 * answered as connect_client.mjs prints it: the response in proto3 JSON, or
 * {error: {code, message}} for a ConnectError (the code's name and the
 * server's message, as this page read them).
 */
export async function greet(baseUrl, request, { transport = "grpc-web" } = {}) {
  const client = createClient(GreetService, transports[transport](baseUrl));
  try {
    return toJson(GreetResponseSchema, await client.greet(request, { timeoutMs: 10_000 }));
  } catch (err) {
    if (!(err instanceof ConnectError)) throw err;
    return { error: { code: Code[err.code], message: err.rawMessage } };
  }
}
