// One Greet call over native gRPC (HTTP/2 cleartext) with @grpc/grpc-js, the
// service loaded at run time from proto/greet/v1/greet.proto by
// @grpc/proto-loader: no generated code.
//
//   node grpc_js_client.mjs <host:port>   (GreetRequest as JSON on stdin)
//
// Prints one JSON line, as grpcio_client.py does: the response in proto3
// JSON ({"greeting", "timestamp"}) or {"error": {"code", "details"}} for a
// status other than OK (the code's name and the server's message). Anything
// else is a crash: exit 1.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

const [target] = process.argv.slice(2);
if (!target) {
  console.error("usage: node grpc_js_client.mjs <host:port> < request.json");
  process.exit(2);
}

// google/api/*.proto are in proto/ too; google/protobuf/* come with protobufjs.
const protoDir = fileURLToPath(new URL("../../proto", import.meta.url));
const definition = protoLoader.loadSync("greet/v1/greet.proto", {
  includeDirs: [protoDir],
  longs: String,
});
const { GreetService } = grpc.loadPackageDefinition(definition).greet.v1;

const request = JSON.parse(readFileSync(0, "utf8"));
const client = new GreetService(target, grpc.credentials.createInsecure());
client.Greet(request, { deadline: Date.now() + 10_000 }, (err, response) => {
  client.close();
  if (err) {
    const code = Object.keys(grpc.status).find((name) => grpc.status[name] === err.code);
    console.log(JSON.stringify({ error: { code, details: err.details } }));
    return;
  }
  const { greeting, timestamp } = response;
  console.log(JSON.stringify({ greeting, timestamp: rfc3339(timestamp) }));
});

/** A google.protobuf.Timestamp ({seconds: "…", nanos}) in its proto3 JSON form, every digit kept. */
function rfc3339({ seconds, nanos }) {
  const whole = new Date(Number(seconds) * 1000).toISOString().slice(0, 19);
  return nanos ? `${whole}.${String(nanos).padStart(9, "0")}Z` : `${whole}Z`;
}
