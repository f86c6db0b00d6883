//! Compiles `proto/` (and the test-only `tests/proto/`) with protox: pure
//! Rust, no system `protoc`.
//!
//! For each proto root, one path ([`compile`]) writes:
//! - the *encoded* `FileDescriptorSet`, each file as protox encodes it, so
//!   the `(google.api.http)` extension survives for the REST transcoder and
//!   reflection (decoding into `prost_types` would silently drop it); the
//!   comments of our own protos (not of their imports) are kept in it for the
//!   OpenAPI document's descriptions and reflection clients;
//! - tonic/prost code generated from the same descriptors (`<package>.rs`),
//!   with maps as `BTreeMap`s (JSON writes them in key order) and
//!   `prost::Name` for every message;
//! - for the root's own packages, proto3 JSON serde impls of every message
//!   (`<package>.serde.rs`, `build/serde_impls.rs`; the kinds they use are
//!   `src/pb/json.rs`), and the typed REST roads of every service
//!   (`<package>.typed.rs`, `build/typed_roads.rs`), for
//!   [`greet_gateway::transcode::typed`].
//!
//! Well-known types are prost-types' (prost's default): `src/pb/json.rs` has
//! a JSON kind for each of them, so adding one to a proto never breaks the
//! build.

#[path = "build/names.rs"]
mod names;
#[path = "build/serde_impls.rs"]
mod serde_impls;
#[path = "build/typed_roads.rs"]
mod typed_roads;

use std::{env, path::PathBuf};

use prost::Message;
use quote::quote;

/// One proto root and what to generate from it.
struct Protos<'a> {
    files: &'a [&'a str],
    includes: &'a [&'a str],
    /// The encoded descriptor set's file name in `OUT_DIR`.
    descriptor_set: &'a str,
    /// Packages whose serde impls and typed roads are generated: these and
    /// the packages under them (`greet` holds `greet.v1`, not `greeting`).
    own: &'a [&'a str],
    /// The path of this crate where the generated code is included: `crate`
    /// in it, `::greet_gateway` in integration tests.
    root: &'a str,
    /// The codec the generated servers decode with; `None` for tonic's own
    /// (the test-only services stand for an embedder's, which bring theirs).
    codec: Option<&'a str>,
}

fn compile(protos: &Protos) {
    let Protos {
        files, includes, ..
    } = protos;
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let encoded = protox::Compiler::new(*includes)
        .and_then(|mut compiler| {
            compiler.include_imports(true).include_source_info(true);
            compiler.open_files(*files)?;
            Ok(encode_with_own_comments(&compiler))
        })
        .unwrap_or_else(|e| panic!("cannot compile {files:?}: {e:?}"));
    std::fs::write(out_dir.join(protos.descriptor_set), &encoded).expect("write descriptor set");
    let fds = prost_types::FileDescriptorSet::decode(encoded.as_slice())
        .expect("protox wrote a valid descriptor set");
    // The tonic/prost code.
    let mut prost_config = prost_build::Config::new();
    prost_config.enable_type_names();
    let mut config = tonic_prost_build::configure().btree_map(".");
    if let Some(codec) = protos.codec {
        // Our own services decode with our codec: a bad message is the
        // caller's INVALID_ARGUMENT, in words from our code.
        config = config.codec_path(codec);
    }
    config
        .build_client(true)
        .build_server(true)
        .build_transport(false)
        .compile_fds_with_config(fds.clone(), prost_config)
        .unwrap_or_else(|e| panic!("cannot generate code for {files:?}: {e}"));

    // The serde impls and typed roads of our own packages.
    let types = names::Types::new(&fds);
    let root: proc_macro2::TokenStream = protos.root.parse().expect("a Rust path");
    let mut packages: Vec<&str> = fds
        .file
        .iter()
        .map(|f| f.package())
        .filter(|p| protos.own.iter().any(|own| names::is_within(p, own)))
        .collect();
    packages.sort_unstable();
    packages.dedup();
    for package in packages {
        let files: Vec<_> = fds.file.iter().filter(|f| f.package() == package).collect();
        let serde = serde_impls::generate(&types, package, &root);
        write(&out_dir, &format!("{package}.serde.rs"), &serde);
        let typed = typed_roads::generate(&types, &files, package, &root);
        write(&out_dir, &format!("{package}.typed.rs"), &typed);
    }
}

/// Writes generated items as formatted Rust.
fn write(out_dir: &std::path::Path, name: &str, items: &proc_macro2::TokenStream) {
    let file = syn::parse2::<syn::File>(quote!(#items))
        .unwrap_or_else(|e| panic!("generated {name} does not parse: {e}"));
    std::fs::write(out_dir.join(name), prettyplease::unparse(&file))
        .unwrap_or_else(|e| panic!("cannot write {name}: {e}"));
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

fn main() {
    println!("cargo:rerun-if-changed=proto");
    println!("cargo:rerun-if-changed=tests/proto");
    println!("cargo:rerun-if-changed=build");
    compile(&Protos {
        files: &["greet/v1/greet.proto"],
        includes: &["proto"],
        descriptor_set: "greet_descriptor.bin",
        own: &["greet"],
        root: "crate",
        codec: Some("crate::grpc::codec::Codec"),
    });
    // Test-only, through the same path: an RPC per HttpRule form
    // (tests/transcode.rs, tests/openapi.rs) and a message with every field
    // kind (tests/json_contract.rs, tests/openapi.rs).
    compile(&Protos {
        files: &["library/v1/library.proto"],
        includes: &["tests/proto", "proto"],
        descriptor_set: "library_descriptor.bin",
        own: &["library"],
        root: "::greet_gateway",
        codec: None,
    });
    // A service echoing the metadata it receives (tests/metadata.rs).
    compile(&Protos {
        files: &["echo/v1/echo.proto"],
        includes: &["tests/proto", "proto"],
        descriptor_set: "echo_descriptor.bin",
        own: &["echo"],
        root: "::greet_gateway",
        codec: None,
    });
    compile(&Protos {
        files: &["kinds/v1/kinds.proto"],
        includes: &["tests/proto", "proto"],
        descriptor_set: "kinds_descriptor.bin",
        own: &["kinds"],
        root: "::greet_gateway",
        codec: None,
    });
}
