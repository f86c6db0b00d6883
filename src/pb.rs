//! Code generated from `proto/` by `build.rs`, the proto3 JSON kinds its
//! serde impls use, and the encoded descriptor set.

pub mod json;

/// `google.protobuf.Timestamp`, as prost stores it (prost-types); its JSON
/// form is [`json::Timestamp`]'s.
pub use prost_types::Timestamp;

#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod greet {
    pub mod v1 {
        tonic::include_proto!("greet.v1");
        // proto3-JSON serde impls of the messages above (build.rs).
        include!(concat!(env!("OUT_DIR"), "/greet.v1.serde.rs"));
        // A typed REST road per unary RPC, and each message's proto name
        // (build.rs).
        include!(concat!(env!("OUT_DIR"), "/greet.v1.typed.rs"));
    }
}

/// The encoded `FileDescriptorSet` of `greet/v1/greet.proto` and its imports,
/// exactly as protox produced it: the `(google.api.http)` options are intact.
/// Reflection serves it and the REST transcoder reads its annotations.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/greet_descriptor.bin"));
