//! A test-only service (tests/proto/library/v1/library.proto), added to the
//! gateway the way an embedder adds one: one RPC per `HttpRule` form, each
//! echoing the request it received.

use tonic::{Request, Response, Status};

use super::{TestApp, spawn_with_builder};

#[allow(clippy::all, clippy::pedantic)]
pub mod pb {
    tonic::include_proto!("library.v1");
}

pub use pb::library_service_server::LibraryServiceServer;
use pb::{BookReply, BookRequest, library_service_server::LibraryService};

/// Its encoded descriptor set, `google.api.http` annotations intact.
pub const LIBRARY_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/library_descriptor.bin"));

pub struct Echo;

fn echo(method: &str, request: Request<BookRequest>) -> Result<Response<BookReply>, Status> {
    Ok(Response::new(BookReply {
        method: method.to_owned(),
        request: Some(request.into_inner()),
    }))
}

#[tonic::async_trait]
impl LibraryService for Echo {
    async fn get_shelf(&self, r: Request<BookRequest>) -> Result<Response<BookReply>, Status> {
        echo("GetShelf", r)
    }
    async fn create_book(&self, r: Request<BookRequest>) -> Result<Response<BookReply>, Status> {
        echo("CreateBook", r)
    }
    async fn update_book(&self, r: Request<BookRequest>) -> Result<Response<BookReply>, Status> {
        echo("UpdateBook", r)
    }
    async fn replace_book(&self, r: Request<BookRequest>) -> Result<Response<BookReply>, Status> {
        echo("ReplaceBook", r)
    }
    async fn delete_book(&self, r: Request<BookRequest>) -> Result<Response<BookReply>, Status> {
        if r.get_ref().name.ends_with("/missing") {
            return Err(Status::not_found("no such book"));
        }
        echo("DeleteBook", r)
    }
    async fn get_file(&self, r: Request<BookRequest>) -> Result<Response<BookReply>, Status> {
        echo("GetFile", r)
    }
    async fn list_books(&self, r: Request<BookRequest>) -> Result<Response<BookReply>, Status> {
        echo("ListBooks", r)
    }
    async fn get_book_title(&self, r: Request<BookRequest>) -> Result<Response<BookReply>, Status> {
        echo("GetBookTitle", r)
    }
    async fn search(&self, r: Request<BookRequest>) -> Result<Response<BookReply>, Status> {
        echo("Search", r)
    }
    async fn internal(&self, r: Request<BookRequest>) -> Result<Response<BookReply>, Status> {
        echo("Internal", r)
    }
}

/// The gateway with the echo service added.
pub async fn spawn_library() -> TestApp {
    spawn_library_with(&[]).await
}

/// The gateway with the echo service added and extra flags.
pub async fn spawn_library_with(flags: &[&str]) -> TestApp {
    spawn_with_builder(flags, |builder| {
        builder.add_service(LibraryServiceServer::new(Echo), LIBRARY_DESCRIPTOR_SET)
    })
    .await
}
