"""Writes the Envoy configuration of the comparison stack to stdout.

The usual way to give browsers and curl a gRPC service: Envoy with the
cors, grpc_web and grpc_json_transcoder filters in front of a native gRPC
backend (here greet-gateway's own gRPC face), with the same CORS policy as
greet-gateway's defaults. One worker (--concurrency 1 on the command line),
no access log, no admin listener.
"""

import argparse

CONFIG = """\
static_resources:
  listeners:
  - name: api
    address:
      socket_address: {{ address: 127.0.0.1, port_value: {listen} }}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: api
          codec_type: AUTO
          route_config:
            name: api
            virtual_hosts:
            - name: api
              domains: ["*"]
              routes:
              - match: {{ prefix: "/" }}
                route: {{ cluster: backend, timeout: 0s }}
              typed_per_filter_config:
                envoy.filters.http.cors:
                  "@type": type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy
                  allow_origin_string_match:
                  - exact: http://localhost:1234
                  - exact: http://127.0.0.1:1234
                  allow_methods: POST
                  allow_headers: content-type,x-grpc-web,x-user-agent,grpc-timeout,authorization
                  expose_headers: grpc-status,grpc-message,grpc-status-details-bin
                  max_age: "60"
          http_filters:
          - name: envoy.filters.http.cors
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors
          - name: envoy.filters.http.grpc_web
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.grpc_web.v3.GrpcWeb
          - name: envoy.filters.http.grpc_json_transcoder
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.grpc_json_transcoder.v3.GrpcJsonTranscoder
              proto_descriptor: {descriptor}
              services: [greet.v1.GreetService]
              convert_grpc_status: true
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:
  - name: backend
    type: STATIC
    connect_timeout: 1s
    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        explicit_http_config:
          http2_protocol_options: {{}}
    load_assignment:
      cluster_name: backend
      endpoints:
      - lb_endpoints:
        - endpoint:
            address:
              socket_address: {{ address: 127.0.0.1, port_value: {backend} }}
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--listen", type=int, required=True)
    parser.add_argument("--backend", type=int, required=True)
    parser.add_argument("--descriptor", required=True)
    args = parser.parse_args()
    print(CONFIG.format(listen=args.listen, backend=args.backend, descriptor=args.descriptor), end="")


if __name__ == "__main__":
    main()
