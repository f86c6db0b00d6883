//! Compiles `proto/` with protox (pure Rust, no system `protoc`).
//!
//! Two outputs per proto root:
//! - the *encoded* `FileDescriptorSet`, kept byte-for-byte as protox wrote it, so
//!   the `(google.api.http)` extension survives for the REST transcoder and
//!   reflection (decoding into `prost_types` would silently drop it);
//! - tonic/prost code generated from the same descriptors.
//!
//! `tests/proto/` holds a test-only service that exercises every `HttpRule` form;
//! its code is generated here too but only `include!`d by the integration tests.

use std::{env, path::PathBuf};

use prost::Message;

fn compile(files: &[&str], includes: &[&str], descriptor_name: &str) {
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
    tonic_prost_build::configure()
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
    );
    compile(
        &["library/v1/library.proto"],
        &["tests/proto", "proto"],
        "library_descriptor.bin",
    );
}
