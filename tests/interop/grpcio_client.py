"""One Greet call with grpcio stubs generated from proto/greet/v1/greet.proto.

    python grpcio_client.py <host:port>   (GreetRequest as JSON on stdin)

Prints one JSON line: the response in proto3 JSON ({"greeting", "timestamp"})
or {"error": {"code", "details"}} for an RpcError (the status code's name and
the server's message). Anything else is a crash: exit 1.
"""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "gen", "python"))

import grpc  # noqa: E402
from google.protobuf import json_format  # noqa: E402
from greet.v1 import greet_pb2, greet_pb2_grpc  # noqa: E402


def main() -> None:
    (target,) = sys.argv[1:]
    request = json_format.Parse(sys.stdin.read(), greet_pb2.GreetRequest())
    with grpc.insecure_channel(target) as channel:
        stub = greet_pb2_grpc.GreetServiceStub(channel)
        try:
            response = stub.Greet(request, timeout=10)
        except grpc.RpcError as err:
            print(json.dumps({"error": {"code": err.code().name, "details": err.details()}}))
            return
    print(json.dumps(json_format.MessageToDict(response)))


if __name__ == "__main__":
    main()
