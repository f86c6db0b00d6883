//! REST routes come from `google.api.http` annotations alone: a test-only
//! service (tests/proto/library/v1/library.proto) with one RPC per HttpRule
//! form gets its REST surface with no hand-written handler. Each RPC echoes
//! the request it received, so every case shows exactly what was bound from
//! the path, the query string and the body.

mod common;
#[path = "common/library.rs"]
mod library;

use common::{ALLOWED_ORIGIN, TestApp, header, json, spawn_with_builder};
use library::{
    DESCRIPTOR_SET as LIBRARY_DESCRIPTOR_SET, Echo,
    pb::library_service_server::LibraryServiceServer, spawn_library,
};
use serde_json::{Value, json};
use tonic::Status;

async fn send(app: &TestApp, method: &str, path: &str, body: Option<&str>) -> reqwest::Response {
    let mut request = app.http.request(
        reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
        app.url(path),
    );
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_owned());
    }
    request.send().await.unwrap()
}

/// One row per HttpRule form: (HTTP method, path, body, expected JSON reply).
fn cases() -> Vec<(&'static str, &'static str, Option<&'static str>, Value)> {
    vec![
        // get + {field} + the rest from the query (repeated, nested, enum, optional).
        (
            "GET",
            "/v1/shelves/s1?page_size=5&tags=a&tags=b&book.title=Dune&genre=GENRE_FICTION&archived=true",
            None,
            json!({"method": "GetShelf", "request": {
                "shelf": "s1", "pageSize": 5, "tags": ["a", "b"], "book": {"title": "Dune"},
                "genre": "GENRE_FICTION", "archived": true}}),
        ),
        // JSON names work in the query string too; percent-decoding of a path value.
        (
            "GET",
            "/v1/shelves/sci%20fi?pageSize=7",
            None,
            json!({"method": "GetShelf", "request": {"shelf": "sci fi", "pageSize": 7}}),
        ),
        // post + body: "field".
        (
            "POST",
            "/v1/shelves/s1/books",
            Some(r#"{"title": "Dune", "pages": "412", "author": {"name": "Frank", "born": 1920}}"#),
            json!({"method": "CreateBook", "request": {"shelf": "s1", "book": {
                "title": "Dune", "pages": "412", "author": {"name": "Frank", "born": 1920}}}}),
        ),
        // patch + {field.sub=segments/*/..} + body: "field".
        (
            "PATCH",
            "/v1/shelves/s1/books/b2",
            Some(r#"{"title": "New"}"#),
            json!({"method": "UpdateBook", "request": {"book": {"name": "shelves/s1/books/b2", "title": "New"}}}),
        ),
        // put + body: "*"; the path wins over the body for bound fields.
        (
            "PUT",
            "/v1/shelves/s1/books/b2",
            Some(r#"{"shelf": "ignored", "tags": ["x"], "book": {"available": true}}"#),
            json!({"method": "ReplaceBook", "request": {"shelf": "s1", "name": "b2", "tags": ["x"], "book": {"available": true}}}),
        ),
        // delete, no body.
        (
            "DELETE",
            "/v1/shelves/s1/books/b2",
            None,
            json!({"method": "DeleteBook", "request": {"name": "shelves/s1/books/b2"}}),
        ),
        // {field=**}.
        (
            "GET",
            "/v1/files/a/b/c.txt",
            None,
            json!({"method": "GetFile", "request": {"path": "a/b/c.txt"}}),
        ),
        // custom method.
        (
            "LIST",
            "/v1/books?page_size=2",
            None,
            json!({"method": "ListBooks", "request": {"pageSize": 2}}),
        ),
        // :verb + response_body: only the `request` field comes back.
        (
            "GET",
            "/v1/shelves/s/books/b:title",
            None,
            json!({"name": "shelves/s/books/b"}),
        ),
        // additional_bindings: three routes, one RPC.
        (
            "GET",
            "/v1/search?tags=x",
            None,
            json!({"method": "Search", "request": {"tags": ["x"]}}),
        ),
        (
            "POST",
            "/v1/search",
            Some(r#"{"tags": ["y"], "pageSize": 3}"#),
            json!({"method": "Search", "request": {"tags": ["y"], "pageSize": 3}}),
        ),
        (
            "GET",
            "/v1/shelves/s9:search",
            None,
            json!({"method": "Search", "request": {"shelf": "s9"}}),
        ),
    ]
}

#[tokio::test]
async fn every_http_rule_form_binds_path_query_and_body() {
    let app = spawn_library().await;
    for (method, path, body, expected) in cases() {
        let response = send(&app, method, path, body).await;
        assert_eq!(response.status(), 200, "{method} {path}");
        assert_eq!(json(response).await, expected, "{method} {path}");
    }
}

#[tokio::test]
async fn greet_keeps_working_beside_another_annotated_service() {
    let app = spawn_library().await;
    let body = json(app.post_greet(r#"{"name":"Alice","lang":"es"}"#).await).await;
    assert_eq!(body["greeting"], "Hola, Alice!");
}

#[tokio::test]
async fn bad_query_and_path_values_are_400_saying_which() {
    let app = spawn_library().await;
    for (path, message) in [
        (
            "/v1/shelves/s1?nope=1",
            "Unknown query parameter 'nope': library.v1.BookRequest has no such field",
        ),
        (
            "/v1/shelves/s1?page_size=abc",
            "Invalid value for 'page_size': 'abc' is not a valid int32",
        ),
        (
            "/v1/shelves/s1?genre=GENRE_POETRY",
            "Invalid value for 'genre': 'GENRE_POETRY' is not a value of library.v1.Genre",
        ),
        (
            "/v1/shelves/s1?archived=yes",
            "Invalid value for 'archived': 'yes' is not true or false",
        ),
    ] {
        let response = send(&app, "GET", path, None).await;
        assert_eq!(response.status(), 400, "{path}");
        assert_eq!(json(response).await, json!({ "error": message }), "{path}");
    }
}

#[tokio::test]
async fn grpc_errors_map_to_http_statuses() {
    let app = spawn_library().await;
    let response = send(&app, "DELETE", "/v1/shelves/s1/books/missing", None).await;
    assert_eq!(response.status(), 404);
    assert_eq!(json(response).await, json!({"error": "no such book"}));
}

#[tokio::test]
async fn unannotated_rpcs_have_no_rest_route_and_405_lists_every_method() {
    let app = spawn_library().await;
    let response = send(
        &app,
        "POST",
        "/library.v1.LibraryService/Internal",
        Some("{}"),
    )
    .await;
    assert_eq!(response.status(), 404);
    let response = send(&app, "PUT", "/v1/search", Some("{}")).await;
    assert_eq!(response.status(), 405);
    assert_eq!(header(response.headers(), "allow"), "GET, POST");
}

#[tokio::test]
async fn preflights_grant_exactly_the_methods_the_routes_use() {
    let app = spawn_library().await;
    let response = app
        .preflight(
            "/v1/shelves/s1/books/b2",
            Some(ALLOWED_ORIGIN),
            "PATCH",
            None,
        )
        .await;
    assert_eq!(response.status(), 204);
    assert_eq!(
        header(response.headers(), "access-control-allow-methods"),
        "DELETE, GET, LIST, PATCH, POST, PUT"
    );
}

/// An embedder's typed road (`ApiBuilder::add_typed_rest`) answers exactly
/// the routes whose request is the whole body; every other route to the
/// same RPCs keeps the dynamic road (here: the echo service).
#[tokio::test]
async fn typed_roads_take_only_whole_body_routes() {
    use greet_gateway::transcode::typed::TypedRpc;
    let typed = |path: &'static str| {
        TypedRpc::new(path, |request: Value| async move {
            Ok::<_, Status>(json!({"road": "typed", "got": request}))
        })
    };
    let app = spawn_with_builder(&[], |builder| {
        builder
            .add_service(LibraryServiceServer::new(Echo), LIBRARY_DESCRIPTOR_SET)
            .add_typed_rest(typed("/library.v1.LibraryService/Search"))
            .add_typed_rest(typed("/library.v1.LibraryService/ReplaceBook"))
    })
    .await;

    // `post: "/v1/search" body: "*"`: the whole body, so typed.
    let response = send(&app, "POST", "/v1/search", Some(r#"{"shelf":"s1"}"#)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        json(response).await,
        json!({"road": "typed", "got": {"shelf": "s1"}})
    );

    // `get: "/v1/search"`: fields from the query, so dynamic.
    let response = send(&app, "GET", "/v1/search?shelf=s1", None).await;
    assert_eq!(
        json(response).await,
        json!({"method": "Search", "request": {"shelf": "s1"}})
    );

    // `put: "/v1/shelves/{shelf}/books/{name}" body: "*"`: path variables
    // fill fields too, so dynamic.
    let response = send(
        &app,
        "PUT",
        "/v1/shelves/s1/books/b1",
        Some(r#"{"pageSize":3}"#),
    )
    .await;
    assert_eq!(
        json(response).await,
        json!({"method": "ReplaceBook", "request": {"shelf": "s1", "name": "b1", "pageSize": 3}})
    );
}
