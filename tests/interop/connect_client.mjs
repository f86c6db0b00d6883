// One Greet call through a Connect transport, with the messages and service
// descriptor protoc-gen-es generated from proto/greet/v1/greet.proto.
//
//   node connect_client.mjs <kind> <base-url>   (GreetRequest as JSON on stdin)
//
// Prints one JSON line: {"greeting", "timestamp"} (the response in proto3
// JSON) or {"error": {"code", "message"}} (a ConnectError: the code's name
// and the server's message). Anything else is a crash: exit 1.
//
// Kinds, gRPC-Web: "web" is @connectrpc/connect-web (fetch, as in a
// browser); "node" is @connectrpc/connect-node (node:http, HTTP/1.1).
// The Connect protocol: "connect-json" and "connect-binary" are
// connect-web's createConnectTransport (fetch) with useBinaryFormat false
// and true; "connect-node-json" and "connect-node-binary" the same from
// connect-node over HTTP/1.1.
import { readFileSync } from "node:fs";
import { fromJson, toJson } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import {
  createConnectTransport as webConnect,
  createGrpcWebTransport as webTransport,
} from "@connectrpc/connect-web";
import {
  createConnectTransport as nodeConnect,
  createGrpcWebTransport as nodeTransport,
} from "@connectrpc/connect-node";
import {
  GreetRequestSchema,
  GreetResponseSchema,
  GreetService,
} from "./gen/js/greet/v1/greet_pb.js";

const [kind, baseUrl] = process.argv.slice(2);
const transports = {
  web: () => webTransport({ baseUrl }),
  node: () => nodeTransport({ baseUrl, httpVersion: "1.1" }),
  "connect-json": () => webConnect({ baseUrl, useBinaryFormat: false }),
  "connect-binary": () => webConnect({ baseUrl, useBinaryFormat: true }),
  "connect-node-json": () => nodeConnect({ baseUrl, httpVersion: "1.1", useBinaryFormat: false }),
  "connect-node-binary": () => nodeConnect({ baseUrl, httpVersion: "1.1", useBinaryFormat: true }),
};
if (!transports[kind] || !baseUrl) {
  console.error(`usage: node connect_client.mjs <${Object.keys(transports).join("|")}> <base-url> < request.json`);
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
