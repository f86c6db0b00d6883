// One Greet call through a Connect gRPC-Web transport, with the messages and
// service descriptor protoc-gen-es generated from proto/greet/v1/greet.proto.
//
//   node connect_client.mjs <web|node> <base-url>   (GreetRequest as JSON on stdin)
//
// Prints one JSON line: {"greeting", "timestamp"} (the response in proto3
// JSON) or {"error": {"code", "message"}} (a ConnectError: the code's name
// and the server's grpc-message). Anything else is a crash: exit 1.
//
// "web" is @connectrpc/connect-web (fetch, as in a browser); "node" is
// @connectrpc/connect-node (node:http, HTTP/1.1).
import { readFileSync } from "node:fs";
import { fromJson, toJson } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcWebTransport as webTransport } from "@connectrpc/connect-web";
import { createGrpcWebTransport as nodeTransport } from "@connectrpc/connect-node";
import {
  GreetRequestSchema,
  GreetResponseSchema,
  GreetService,
} from "./gen/js/greet/v1/greet_pb.js";

const [kind, baseUrl] = process.argv.slice(2);
const transports = {
  web: () => webTransport({ baseUrl }),
  node: () => nodeTransport({ baseUrl, httpVersion: "1.1" }),
};
if (!transports[kind] || !baseUrl) {
  console.error("usage: node connect_client.mjs <web|node> <base-url> < request.json");
  process.exit(2);
}

const request = fromJson(GreetRequestSchema, JSON.parse(readFileSync(0, "utf8")));
const client = createClient(GreetService, transports[kind]());
try {
  const response = await client.greet(request, { timeoutMs: 10_000 });
  console.log(JSON.stringify(toJson(GreetResponseSchema, response)));
} catch (err) {
  if (!(err instanceof ConnectError)) throw err;
  console.log(JSON.stringify({ error: { code: Code[err.code], message: err.rawMessage } }));
}
