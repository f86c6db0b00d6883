// The browser side of browser_client.mjs for Google's gRPC-Web runtime (npm
// grpc-web): GrpcWebClientBase with a MethodDescriptor written by hand, in
// place of what protoc-gen-grpc-web would generate, over the protobuf-es
// messages that protoc-gen-es generated from proto/greet/v1/greet.proto.
// setup.sh bundles this module into gen/browser/grpc-web.js.
import { create, fromBinary, fromJson, toBinary, toJson } from "@bufbuild/protobuf";
import { GrpcWebClientBase, MethodDescriptor, MethodType, RpcError } from "grpc-web";
import { GreetRequestSchema, GreetResponseSchema } from "./gen/js/greet/v1/greet_pb.js";

// grpc-web wants message classes as google-protobuf generates them: a request
// that serializes itself, a response class that deserializes. These adapt
// protobuf-es's schemas to that shape.
class GreetRequest {
  constructor(message = create(GreetRequestSchema)) {
    this.message = message;
  }
  serializeBinary() {
    return toBinary(GreetRequestSchema, this.message);
  }
}

class GreetResponse {
  constructor(message = create(GreetResponseSchema)) {
    this.message = message;
  }
  static deserializeBinary(bytes) {
    return new GreetResponse(fromBinary(GreetResponseSchema, bytes));
  }
}

const GREET = new MethodDescriptor(
  "/greet.v1.GreetService/Greet",
  MethodType.UNARY,
  GreetRequest,
  GreetResponse,
  (request) => request.serializeBinary(),
  GreetResponse.deserializeBinary,
);

/**
 * One Greet call to `baseUrl` in grpc-web's `format`: "text" (its default,
 * application/grpc-web-text, protoc-gen-grpc-web's mode=grpcwebtext) or
 * "binary" (application/grpc-web+proto, mode=grpcweb). `request` is a
 * GreetRequest in proto3 JSON. Answers the response in proto3 JSON, or
 * {error: {code, message}} for an RpcError: the numeric gRPC status and the
 * grpc-message this page read.
 */
export async function greet(baseUrl, request, { format }) {
  const client = new GrpcWebClientBase({ format });
  const message = new GreetRequest(fromJson(GreetRequestSchema, request));
  try {
    const response = await client.unaryCall(`${baseUrl}${GREET.getName()}`, message, {}, GREET);
    return toJson(GreetResponseSchema, response.message);
  } catch (err) {
    if (!(err instanceof RpcError)) throw err;
    return { error: { code: err.code, message: err.message } };
  }
}
