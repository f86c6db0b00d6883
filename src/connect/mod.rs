//! The Connect protocol, unary (<https://connectrpc.com/docs/protocol>), on
//! the same port as REST, gRPC-Web and gRPC: `POST /<package>.<Service>/<Method>`
//! with an `application/json` or `application/proto` body, or `GET` with
//! `?encoding=…&message=…` for an RPC marked
//! `option idempotency_level = NO_SIDE_EFFECTS;`.
//!
//! Which requests are Connect's is decided once, by
//! [`Protocol::classify`](crate::protocol::Protocol::classify): a POST with
//! an `application/*` content type (gRPC's aside) to the path of a method
//! the gateway serves ([`Procedures`]), or to any method-shaped path when it
//! says `connect-protocol-version`; a GET to a served method's path with
//! Connect's query parameters. So `POST /greet` stays REST, and a JSON POST
//! to `/greet.v1.GreetService/Greet` is Connect.
//!
//! A call goes: the protocol's checks ([`request`]), the body read under
//! `--max-body-bytes` (the same reader and refusal as REST), then the RPC:
//! - JSON on an RPC with a typed road (Greet): the body parsed straight into
//!   the prost type and the service trait called, as REST's typed road does
//!   ([`crate::transcode::typed`]); a body it refuses goes the dynamic way,
//!   so the error's wording never depends on the road;
//! - JSON otherwise: the body read into the input message by its
//!   descriptor, exactly as REST reads a `body: "*"` body, then an
//!   in-process gRPC call ([`GrpcService::unary`]) to the same tonic
//!   services, and the answer written with REST's JSON writer;
//! - proto: the body is the message; it goes to the service as one gRPC
//!   frame and the answer's message comes back as it is, never decoded here
//!   (the services' codec refuses a bad message as INVALID_ARGUMENT).
//!
//! The answer is 200 with the request's codec, or a Connect error
//! ([`ConnectError`]) whose HTTP status comes from the one table in
//! [`crate::status`]. Headers cross as they do for REST
//! ([`crate::transcode::forward`]): `authorization`, `x-request-id`,
//! `traceparent` and `grpc-metadata-*` in; the service's headers back as
//! headers, its trailers as `trailer-*`. `connect-timeout-ms` bounds the
//! call through the timeout layer; the server's own refusals (shedding,
//! timeouts, panics) are Connect errors too ([`Protocol::refusal`]).
//!
//! **Why no crate.** Two maintained Rust crates implement a Connect server,
//! and neither serves these services: `connectrpc` (0.9, connect-rust)
//! generates its own message types (buffa, not prost) and its own service
//! traits, so Greet would need a second code generator and a second
//! implementation beside the tonic one; `connectrpc-axum` (0.2, "not
//! recommended for production use yet") has its own handlers and
//! generator, writes JSON with pbjson (a second JSON mapping beside the one
//! REST shares with the typed road) and pulls in tower-http 0.7 beside our
//! 0.6. Unary Connect is small, and everything it needs is already here:
//! the descriptors, the typed road, the JSON codecs, the in-process gRPC
//! call, the status table.
//!
//! Limitations: no streaming RPCs over Connect (`unimplemented`: use gRPC or
//! gRPC-Web); no compression (`identity` only: another `content-encoding`
//! is `unimplemented`); unknown JSON fields are refused, as on REST, where
//! connect-go's default discards them; the body limit answers 413
//! `resource_exhausted`, as every protocol answers it, where Connect's table
//! would say 429.
//!
//! [`Protocol::refusal`]: crate::protocol::Protocol::refusal

pub mod error;
pub mod procedures;
pub mod request;

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode, header};
use tonic::{Code, Status, body::Body, metadata::MetadataMap};

pub use error::{ConnectError, ErrorCode};
pub use procedures::Procedures;

use crate::{
    grpc::{self, GrpcService, Unary},
    request_error::read_body,
    transcode::{forward, json},
};
use procedures::Procedure;
use request::{Codec, Message};

/// The Connect face of the gRPC services.
pub struct Connect {
    procedures: Arc<Procedures>,
    /// Called in-process: the body limit is applied here, to what the
    /// client sent (see [`GrpcService::in_process`]).
    grpc: GrpcService,
    max_body_bytes: usize,
}

/// A successful call: the message in the request's codec and the service's
/// metadata.
struct Answer {
    body: Bytes,
    headers: HeaderMap,
    trailers: Option<HeaderMap>,
}

impl Connect {
    /// Serves `procedures` (the classification's table) through `grpc`.
    pub fn new(procedures: Arc<Procedures>, grpc: &GrpcService, max_body_bytes: usize) -> Self {
        Connect {
            procedures,
            grpc: grpc.in_process(),
            max_body_bytes,
        }
    }

    /// Answers one Connect request.
    pub async fn handle<B>(&self, request: Request<B>) -> Response<Body>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: std::error::Error + Send + Sync + 'static,
    {
        let (mut parts, body) = request.into_parts();
        let Some(procedure) = self.procedures.find(parts.uri.path()) else {
            // Classified Connect by its `connect-protocol-version` alone.
            // A path nothing serves is a 404, as connect-go's mux answers
            // it and as REST does, not the 501 of Connect's table: the
            // client sent a wrong address, the server lacks nothing. The
            // body still says `unimplemented`, the code clients read.
            return ConnectError::new(
                Code::Unimplemented,
                format!("{} is not a method served here", parts.uri.path()),
            )
            .with_status(StatusCode::NOT_FOUND)
            .into_response();
        };
        let call = match request::read(&parts, procedure) {
            Ok(call) => call,
            Err(error) => return error.into_response(),
        };
        let message = match call.message {
            Message::Query(message) => message,
            Message::Body => match read_body(body, self.max_body_bytes).await {
                Ok(body) => body,
                Err(error) => return ConnectError::from(error).into_response(),
            },
        };
        let forwarded = forward::request_metadata(std::mem::take(&mut parts.headers));
        match self.call(procedure, call.codec, &message, forwarded).await {
            Ok(answer) => {
                let mut response = Response::new(Body::new(http_body_util::Full::new(answer.body)));
                let headers = response.headers_mut();
                headers.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(call.codec.content_type()),
                );
                forward::connect_metadata(&answer.headers, answer.trailers.as_ref(), headers);
                response
            }
            Err(mut error) => {
                let sent = std::mem::take(&mut error.headers);
                forward::connect_metadata(&sent, None, &mut error.headers);
                error.into_response()
            }
        }
    }

    /// Calls the RPC with the message in `codec`; an error carries the
    /// service's metadata in its headers (unfiltered: the caller filters).
    async fn call(
        &self,
        procedure: &Procedure,
        codec: Codec,
        message: &[u8],
        forwarded: HeaderMap,
    ) -> Result<Answer, ConnectError> {
        let forwarded = match (codec, &procedure.typed) {
            (Codec::Json, Some(typed)) => {
                let mut metadata = MetadataMap::from_headers(forwarded);
                if let Some(reply) = typed.call(message, &mut metadata) {
                    return match reply.await {
                        Ok((json, set)) => Ok(Answer {
                            body: Bytes::from(json),
                            headers: set.into_headers(),
                            trailers: None,
                        }),
                        Err(status) => {
                            Err(failure(&status, status.metadata().clone().into_headers()))
                        }
                    };
                }
                // Not a body the typed road parses: the dynamic road says why.
                metadata.into_headers()
            }
            _ => forwarded,
        };
        match codec {
            Codec::Proto => {
                let framed = grpc::frame(message.len(), |buf| buf.extend_from_slice(message))?;
                let reply = self
                    .grpc
                    .unary(procedure.path.clone(), framed, forwarded)
                    .await;
                answer(reply, Ok)
            }
            Codec::Json => {
                let input = json::message_from_json(&procedure.input, message)
                    .map_err(|e| ConnectError::new(Code::InvalidArgument, e))?;
                let framed = grpc::frame(prost::Message::encoded_len(&input), |buf| {
                    prost::Message::encode(&input, buf)
                        .expect("the buffer was sized for the message")
                })?;
                let reply = self
                    .grpc
                    .unary(procedure.path.clone(), framed, forwarded)
                    .await;
                answer(reply, |bytes| {
                    let output =
                        prost_reflect::DynamicMessage::decode(procedure.output.clone(), bytes)
                            .map_err(|e| {
                                Status::internal(format!(
                                    "The service sent an undecodable response: {e}"
                                ))
                            })?;
                    json::message_json(&output)
                        .map(Bytes::from)
                        .map_err(Status::internal)
                })
            }
        }
    }
}

/// A successful in-process call as an [`Answer`], its message written by
/// `write`; else its status, with the metadata the service sent.
fn answer(
    reply: Unary,
    write: impl FnOnce(Bytes) -> Result<Bytes, Status>,
) -> Result<Answer, ConnectError> {
    let Unary {
        headers,
        trailers,
        message,
    } = reply;
    match message.and_then(write) {
        Ok(body) => Ok(Answer {
            body,
            headers,
            trailers,
        }),
        Err(status) => {
            // Connect sends an error's metadata as headers (connect-go
            // merges it so): the trailers-only answer's, or the headers and
            // trailers of an answer that failed at its end.
            let mut metadata = headers;
            if let Some(trailers) = trailers {
                metadata.extend(trailers);
            }
            Err(failure(&status, metadata))
        }
    }
}

/// The Connect error for a service's `status`, carrying its `metadata`.
fn failure(status: &Status, metadata: HeaderMap) -> ConnectError {
    let mut error = ConnectError::from(status);
    error.headers = Box::new(metadata);
    error
}

/// The `grpc_status` of a Connect answer for the access log and metrics:
/// its [`ErrorCode`], or 0 for a 200.
pub fn outcome(response: &Response<impl Sized>) -> Option<HeaderValue> {
    match response.extensions().get::<ErrorCode>() {
        Some(ErrorCode(code)) => Some(error::code_number(*code)),
        None if response.status() == StatusCode::OK => Some(error::code_number(Code::Ok)),
        None => None,
    }
}

/// An answer in Connect's error shape with no service behind it (the
/// server's own refusals, [`crate::protocol::Protocol::refusal`]).
pub fn refusal(code: Code, message: &str) -> Response<Body> {
    ConnectError::new(code, message).into_response()
}
