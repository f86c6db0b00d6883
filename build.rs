//! Compiles `proto/` with protox (pure Rust, no system `protoc`).
//!
//! Two outputs per proto root:
//! - the *encoded* `FileDescriptorSet`, each file as protox encodes it, so the
//!   `(google.api.http)` extension survives for the REST transcoder and
//!   reflection (decoding into `prost_types` would silently drop it); the
//!   comments of our own protos (not of their imports) are kept in it for the
//!   OpenAPI document's descriptions and reflection clients;
//! - tonic/prost code generated from the same descriptors.
//!
//! For `proto/` also serde impls of its messages (pbjson-build, proto3 JSON
//! mapping), for the REST transcoder's typed road
//! ([`greet_gateway::transcode::typed`]). `google.protobuf.Timestamp` maps to
//! the crate's own type there, which writes RFC 3339 the way the spec says.
//!
//! `tests/proto/` holds test-only services: one exercising every `HttpRule` form,
//! one with a field of every kind (for the OpenAPI tests); their code is
//! generated here too, for the tests only.

use std::{collections::BTreeMap, env, fmt::Write as _, path::Path, path::PathBuf};

use heck::{ToSnakeCase, ToUpperCamelCase};
use prost::Message;

/// The crate's own `Timestamp`: a prost message with proto3-JSON serde.
const TIMESTAMP: (&str, &str) = (".google.protobuf.Timestamp", "crate::pb::Timestamp");

fn compile(files: &[&str], includes: &[&str], descriptor_name: &str, serde_for: Option<&str>) {
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let encoded = protox::Compiler::new(includes)
        .and_then(|mut compiler| {
            compiler.include_imports(true).include_source_info(true);
            compiler.open_files(files)?;
            Ok(encode_with_own_comments(&compiler))
        })
        .unwrap_or_else(|e| panic!("cannot compile {files:?}: {e:?}"));
    std::fs::write(out_dir.join(descriptor_name), &encoded).expect("write descriptor set");

    let fds = prost_types::FileDescriptorSet::decode(encoded.as_slice())
        .expect("protox wrote a valid descriptor set");
    let mut config = tonic_prost_build::configure();
    if let Some(package) = serde_for {
        pbjson_build::Builder::new()
            .register_descriptors(&encoded)
            .and_then(|b| b.extern_path(TIMESTAMP.0, TIMESTAMP.1).build(&[package]))
            .unwrap_or_else(|e| panic!("cannot generate serde impls for {files:?}: {e}"));
        config = config.extern_path(TIMESTAMP.0, TIMESTAMP.1);
        write_typed_roads(&fds, package, &out_dir);
    }
    config
        .build_client(true)
        .build_server(true)
        .build_transport(false)
        .compile_fds(fds)
        .unwrap_or_else(|e| panic!("cannot generate code for {files:?}: {e}"));
}

/// `FileDescriptorProto.source_code_info`: the comments, by element path.
const SOURCE_CODE_INFO: u32 = 9;

/// The encoded descriptor set, with source info (comments) kept for the
/// files named on the command line only: the OpenAPI document and
/// reflection clients show those comments. Imported files keep none:
/// `google/protobuf/descriptor.proto` and `google/api/http.proto` carry
/// ~70 KB of comments nobody here reads (the set would grow 13 KB -> 86 KB).
fn encode_with_own_comments(compiler: &protox::Compiler) -> Vec<u8> {
    use prost::encoding::{WireType, encode_key, encode_varint};
    let mut set = Vec::new();
    for (file, metadata) in compiler.descriptor_pool().files().zip(compiler.files()) {
        let mut encoded = file.encode_to_vec();
        if metadata.is_import() {
            encoded = without_field(&encoded, SOURCE_CODE_INFO);
        }
        // FileDescriptorSet.file = 1, one length-delimited entry per file.
        encode_key(1, WireType::LengthDelimited, &mut set);
        encode_varint(encoded.len() as u64, &mut set);
        set.extend_from_slice(&encoded);
    }
    set
}

/// An encoded message without its field `number`, every other byte kept
/// (extension options included, which a decode into `prost_types` drops).
fn without_field(mut message: &[u8], number: u32) -> Vec<u8> {
    use prost::encoding::{WireType, decode_key, decode_varint};
    let mut out = Vec::with_capacity(message.len());
    while !message.is_empty() {
        let field = message;
        let (tag, wire_type) = decode_key(&mut message).expect("protox encodes valid protobuf");
        let len = match wire_type {
            WireType::Varint => {
                decode_varint(&mut message).expect("protox encodes valid varints");
                0
            }
            WireType::SixtyFourBit => 8,
            WireType::ThirtyTwoBit => 4,
            WireType::LengthDelimited => {
                usize::try_from(decode_varint(&mut message).expect("protox encodes valid lengths"))
                    .expect("a descriptor fits in memory")
            }
            groups => panic!("descriptors have no {groups:?} fields"),
        };
        message = &message[len..];
        if tag != number {
            out.extend_from_slice(&field[..field.len() - message.len()]);
        }
    }
    out
}

/// `<package>.typed.rs` for every package under `prefix`: per service, a
/// function giving each unary RPC a typed REST road
/// (`greet_gateway::transcode::typed`) that calls the service trait method.
/// RPCs whose messages live in another package are left to the dynamic road.
fn write_typed_roads(fds: &prost_types::FileDescriptorSet, prefix: &str, out_dir: &Path) {
    let mut packages: BTreeMap<&str, String> = BTreeMap::new();
    for file in &fds.file {
        let package = file.package();
        if !format!(".{package}").starts_with(prefix) {
            continue;
        }
        let code = packages.entry(package).or_default();
        let local = |ty: &str| {
            ty.strip_prefix(&format!(".{package}."))
                .filter(|name| !name.contains('.'))
                .map(|name| name.to_upper_camel_case())
        };
        for service in &file.service {
            let module = format!("{}_server", service.name().to_snake_case());
            let service_trait = service.name().to_upper_camel_case();
            let _ = writeln!(
                code,
                "/// A typed REST road for each unary RPC of `{package}.{name}` \
                 (generated by build.rs).\n\
                 pub fn {snake}_typed_roads<T: {module}::{service_trait}>(\n    \
                     service: std::sync::Arc<T>,\n\
                 ) -> Vec<crate::transcode::typed::TypedRpc> {{\n    vec![",
                name = service.name(),
                snake = service.name().to_snake_case(),
            );
            for method in &service.method {
                let (Some(input), Some(_)) =
                    (local(method.input_type()), local(method.output_type()))
                else {
                    continue;
                };
                if method.client_streaming() || method.server_streaming() {
                    continue;
                }
                let _ = writeln!(
                    code,
                    "        {{\n            \
                         let service = std::sync::Arc::clone(&service);\n            \
                         crate::transcode::typed::TypedRpc::new(\n                \
                             \"/{package}.{service}/{method}\",\n                \
                             move |request: {input}| {{\n                    \
                                 let service = std::sync::Arc::clone(&service);\n                    \
                                 async move {{\n                        \
                                     service\n                            \
                                         .{call}(tonic::Request::new(request))\n                            \
                                         .await\n                            \
                                         .map(tonic::Response::into_inner)\n                    \
                                 }}\n                \
                             }},\n            \
                         )\n        }},",
                    service = service.name(),
                    method = method.name(),
                    call = method.name().to_snake_case(),
                );
            }
            let _ = writeln!(code, "    ]\n}}");
        }
    }
    for (package, code) in packages {
        std::fs::write(out_dir.join(format!("{package}.typed.rs")), code)
            .expect("write typed roads");
    }
}

fn main() {
    println!("cargo:rerun-if-changed=proto");
    println!("cargo:rerun-if-changed=tests/proto");
    compile(
        &["greet/v1/greet.proto"],
        &["proto"],
        "greet_descriptor.bin",
        Some(".greet"),
    );
    compile(
        &["library/v1/library.proto"],
        &["tests/proto", "proto"],
        "library_descriptor.bin",
        None,
    );
    compile(
        &["kinds/v1/kinds.proto"],
        &["tests/proto", "proto"],
        "kinds_descriptor.bin",
        None,
    );
}
