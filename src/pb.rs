//! Code generated from `proto/` by `build.rs`, and the encoded descriptor set.

mod timestamp;

pub use timestamp::Timestamp;

#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod greet {
    pub mod v1 {
        tonic::include_proto!("greet.v1");
        // proto3-JSON serde impls of the messages above (pbjson-build).
        include!(concat!(env!("OUT_DIR"), "/greet.v1.serde.rs"));
        // A typed REST road per unary RPC (build.rs).
        include!(concat!(env!("OUT_DIR"), "/greet.v1.typed.rs"));
    }
}

#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod google {
    pub mod api {
        tonic::include_proto!("google.api");
    }
}

/// The encoded `FileDescriptorSet` of `greet/v1/greet.proto` and its imports,
/// exactly as protox produced it: the `(google.api.http)` options are intact.
/// Reflection serves it and the REST transcoder reads its annotations.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/greet_descriptor.bin"));
