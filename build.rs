//! Compiles `proto/` with protox (pure Rust, no system `protoc`).
//!
//! Two outputs per proto root:
//! - the *encoded* `FileDescriptorSet`, kept byte-for-byte as protox wrote it, so
//!   the `(google.api.http)` extension survives for the REST transcoder and
//!   reflection (decoding into `prost_types` would silently drop it);
//! - tonic/prost code generated from the same descriptors.
//!
//! For `proto/` also serde impls of its messages (pbjson-build, proto3 JSON
//! mapping), for the REST transcoder's typed road
//! ([`greet_gateway::transcode::typed`]). `google.protobuf.Timestamp` maps to
//! the crate's own type there, which writes RFC 3339 the way the spec says.
//!
//! `tests/proto/` holds a test-only service that exercises every `HttpRule` form;
//! its code is generated here too but only `include!`d by the integration tests.

use std::{env, path::PathBuf};

use prost::Message;

/// The crate's own `Timestamp`: a prost message with proto3-JSON serde.
const TIMESTAMP: (&str, &str) = (".google.protobuf.Timestamp", "crate::pb::Timestamp");

fn compile(files: &[&str], includes: &[&str], descriptor_name: &str, serde_for: Option<&str>) {
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let encoded = protox::Compiler::new(includes)
        .and_then(|mut compiler| {
            compiler.include_imports(true).include_source_info(false);
            compiler.open_files(files)?;
            Ok(compiler.encode_file_descriptor_set())
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
    }
    config
        .build_client(true)
        .build_server(true)
        .build_transport(false)
        .compile_fds(fds)
        .unwrap_or_else(|e| panic!("cannot generate code for {files:?}: {e}"));
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
}
