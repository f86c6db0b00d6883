//! The test-only Kinds service (tests/proto/kinds/v1/kinds.proto): a message
//! with a field of every proto3 kind, and an Echo RPC answering with the
//! request it got, so what comes back over REST is exactly what the
//! transcoder's JSON reader made of the request, as its writer writes it.
//! tests/json_contract.rs and tests/openapi.rs both serve it.
//!
//! Not a module of `common` (every test would compile its generated serde
//! impls): a test that needs it says `#[path = "common/kinds.rs"] mod kinds;`.
#![allow(dead_code)]

use std::sync::Arc;

use tonic::{Request, Response, Status};

use crate::common::{TestApp, spawn_with_builder};

#[allow(clippy::all, clippy::pedantic)]
pub mod pb {
    tonic::include_proto!("kinds.v1");
    include!(concat!(env!("OUT_DIR"), "/kinds.v1.serde.rs"));
    include!(concat!(env!("OUT_DIR"), "/kinds.v1.typed.rs"));
}

use pb::{
    Kinds,
    kinds_service_server::{KindsService, KindsServiceServer},
    kinds_service_typed_roads,
};

/// Its encoded descriptor set, `google.api.http` annotations intact.
pub const KINDS_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/kinds_descriptor.bin"));

/// Answers with the request it got.
pub struct Echo;

#[tonic::async_trait]
impl KindsService for Echo {
    async fn echo(&self, request: Request<Kinds>) -> Result<Response<Kinds>, Status> {
        Ok(Response::new(request.into_inner()))
    }
}

/// The gateway with the Kinds service added beside Greet: its `body: "*"`
/// route on the typed road (the generated serde impls) when `typed`, else
/// every route on the dynamic road.
pub async fn spawn_kinds(typed: bool) -> TestApp {
    spawn_with_builder(&[], |builder| {
        let builder = builder.add_service(KindsServiceServer::new(Echo), KINDS_DESCRIPTOR_SET);
        if typed {
            kinds_service_typed_roads(Arc::new(Echo))
                .into_iter()
                .fold(builder, |b, road| b.add_typed_rest(road))
        } else {
            builder.dynamic_rest_only()
        }
    })
    .await
}
