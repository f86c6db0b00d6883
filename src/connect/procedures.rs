//! The procedures Connect serves: every method of every service in the
//! descriptor pool, by its path (`/<package>.<Service>/<Method>`), read once
//! at start-up.
//!
//! The same table tells the classification ([`crate::protocol::Protocol`])
//! whether a request is Connect's at all, so the lookup is built for that
//! hot path: paths sorted by length then bytes, a binary search that
//! compares bytes only with paths of the same length, and no hashing. A
//! request pays it only when its path has a gRPC method's shape
//! ([`is_method_shaped`]); `POST /greet` never does.

use http::uri::PathAndQuery;
use prost_reflect::{DescriptorPool, MessageDescriptor, MethodDescriptor, Value};

use crate::transcode::typed::TypedRpc;

/// `google.protobuf.MethodOptions.IdempotencyLevel.NO_SIDE_EFFECTS`.
const NO_SIDE_EFFECTS: i32 = 1;

/// One RPC as Connect sees it.
pub struct Procedure {
    /// `/package.Service/Method`, the path of the in-process gRPC call.
    pub path: PathAndQuery,
    pub input: MessageDescriptor,
    pub output: MessageDescriptor,
    /// Neither side streams: Connect serves only these (see the module docs
    /// of [`super`]).
    pub unary: bool,
    /// Marked `idempotency_level = NO_SIDE_EFFECTS`: may be called with GET.
    pub get: bool,
    /// The RPC's typed road, when it has one: JSON straight into the service
    /// trait, as REST's typed road ([`crate::transcode::typed`]).
    pub typed: Option<TypedRpc>,
}

/// Every procedure of a pool; see the module docs.
#[derive(Default)]
pub struct Procedures {
    /// Sorted by [`by_length`].
    sorted: Box<[Procedure]>,
}

impl std::fmt::Debug for Procedures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.sorted.iter().map(|p| p.path.as_str()))
            .finish()
    }
}

impl Procedures {
    /// Every method of every service in `pool`, each with its typed road
    /// from `typed` (by gRPC path) if there is one.
    pub fn new(pool: &DescriptorPool, typed: &[TypedRpc]) -> Self {
        let mut sorted: Vec<Procedure> = pool
            .services()
            .flat_map(|service| service.methods().collect::<Vec<_>>())
            .map(|method| {
                let path = format!("/{}/{}", method.parent_service().full_name(), method.name());
                let unary = !method.is_client_streaming() && !method.is_server_streaming();
                let typed = typed.iter().find(|t| t.grpc_path() == path).cloned();
                Procedure {
                    get: unary && has_no_side_effects(&method),
                    path: PathAndQuery::try_from(path)
                        .expect("a proto service and method name form a valid path"),
                    input: method.input(),
                    output: method.output(),
                    unary,
                    typed,
                }
            })
            .collect();
        sorted.sort_unstable_by(|a, b| by_length(a.path.as_str(), b.path.as_str()));
        sorted.dedup_by(|a, b| a.path == b.path);
        Procedures {
            sorted: sorted.into(),
        }
    }

    /// The procedure at `path`, if any.
    pub fn find(&self, path: &str) -> Option<&Procedure> {
        self.sorted
            .binary_search_by(|p| by_length(p.path.as_str(), path))
            .ok()
            .map(|at| &self.sorted[at])
    }

    /// Whether any procedure may be called with GET (the CORS policy then
    /// allows GET).
    pub fn any_get(&self) -> bool {
        self.sorted.iter().any(|p| p.get)
    }
}

/// Whether a method carries `option idempotency_level = NO_SIDE_EFFECTS;`.
fn has_no_side_effects(method: &MethodDescriptor) -> bool {
    matches!(
        method
            .options()
            .get_field_by_name("idempotency_level")
            .as_deref(),
        Some(Value::EnumNumber(NO_SIDE_EFFECTS))
    )
}

/// `/<service>/<method>`: two non-empty segments, split as the gRPC service
/// table splits a path ([`crate::grpc::split_path`], a byte scan: every REST
/// request asks, so no char searcher and no allocation).
pub fn is_method_shaped(path: &str) -> bool {
    crate::grpc::split_path(path).is_some_and(|(service, method)| {
        !service.is_empty() && !method.is_empty() && !method.as_bytes().contains(&b'/')
    })
}

/// Length first, then bytes: a binary search compares bytes only with
/// paths of the same length (as [`crate::metrics`] looks up its routes).
fn by_length(a: &str, b: &str) -> std::cmp::Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pb;

    #[test]
    fn a_method_shaped_path_has_two_non_empty_segments() {
        for shaped in ["/greet.v1.GreetService/Greet", "/Svc/M", "/a/b"] {
            assert!(is_method_shaped(shaped), "{shaped}");
        }
        for other in [
            "/greet",
            "/",
            "",
            "greet.v1.GreetService/Greet",
            "//M",
            "/S/",
            "/a/b/c",
        ] {
            assert!(!is_method_shaped(other), "{other}");
        }
    }

    #[test]
    fn greet_is_found_unary_and_not_for_get() {
        let pool = DescriptorPool::decode(pb::FILE_DESCRIPTOR_SET).unwrap();
        let procedures = Procedures::new(&pool, &[]);
        let greet = procedures.find("/greet.v1.GreetService/Greet").unwrap();
        assert!(greet.unary && !greet.get && greet.typed.is_none());
        assert_eq!(greet.input.full_name(), "greet.v1.GreetRequest");
        assert!(procedures.find("/greet.v1.GreetService/Greex").is_none());
        assert!(procedures.find("/greet").is_none());
        assert!(!procedures.any_get());
    }
}
