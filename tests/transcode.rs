//! REST routes come from `google.api.http` annotations alone: a test-only
//! service (tests/proto/library/v1/library.proto) with one RPC per HttpRule
//! form gets its REST surface with no hand-written handler. Each RPC echoes
//! the request it received, so every case shows exactly what was bound from
//! the path, the query string and the body.

mod common;

use common::{
    ALLOWED_ORIGIN, TestApp, header, json,
    library::{
        Echo, LIBRARY_DESCRIPTOR_SET, LibraryServiceServer, spawn_library, spawn_library_with,
    },
    spawn_with_builder,
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

/// `--max-body-bytes` limits the body a REST client sends; the in-process
/// gRPC call it becomes is not limited again, though its protobuf may be
/// larger (here the query string fills the message and there is no body).
#[tokio::test]
async fn the_body_limit_is_the_rest_bodys_not_its_protobufs() {
    let app = spawn_library_with(&["--max-body-bytes", "64"]).await;
    let shelf = "s".repeat(100);
    let response = send(&app, "GET", &format!("/v1/search?shelf={shelf}"), None).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        json(response).await,
        json!({"method": "Search", "request": {"shelf": shelf}})
    );
}

#[tokio::test]
async fn unannotated_rpcs_have_no_rest_route_and_405_lists_every_method() {
    let app = spawn_library().await;
    let internal = "/library.v1.LibraryService/Internal";
    let response = send(&app, "GET", internal, None).await;
    assert_eq!(response.status(), 404);
    assert_eq!(
        json(response).await,
        json!({"error": format!("No route for GET {internal}")})
    );
    // A JSON POST to a gRPC method path is the Connect protocol's
    // (tests/connect.rs), which serves every RPC, annotated or not.
    let response = send(&app, "POST", internal, Some("{}")).await;
    assert_eq!(
        json(response).await,
        json!({"method": "Internal", "request": {}})
    );
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

/// What `ApiBuilder::build` says of the library service with `road` added.
async fn start_up_error(road: greet_gateway::transcode::typed::TypedRpc) -> String {
    use clap::Parser as _;
    let settings = greet_gateway::config::Args::try_parse_from(["greet-gateway"])
        .expect("no flags parse")
        .validate()
        .expect("the defaults are valid");
    let built = greet_gateway::ApiBuilder::from_settings(&settings)
        .add_service(LibraryServiceServer::new(Echo), LIBRARY_DESCRIPTOR_SET)
        .add_typed_rest(road)
        .build(settings.cors.clone())
        .await;
    match built {
        Ok(_) => panic!("the API started"),
        Err(error) => error.to_string(),
    }
}

/// A typed road that no `body: "*"` route would ever take is a mistake
/// found at start-up, not a road silently never used.
#[tokio::test]
async fn a_typed_road_without_a_whole_body_route_stops_start_up() {
    use greet_gateway::transcode::typed::TypedRpc;
    let echo = |path| {
        TypedRpc::new(
            path,
            |request: Value| async move { Ok::<_, Status>(request) },
        )
    };
    // `get: "/v1/shelves/{shelf}"`: no body at all.
    assert_eq!(
        start_up_error(echo("/library.v1.LibraryService/GetShelf")).await,
        "typed REST road for /library.v1.LibraryService/GetShelf: \
         no route with body \"*\" calls that RPC"
    );
    // No such RPC.
    assert_eq!(
        start_up_error(echo("/library.v1.LibraryService/Shelve")).await,
        "typed REST road for /library.v1.LibraryService/Shelve: \
         no route with body \"*\" calls that RPC"
    );
}

/// A typed road whose Rust types are other messages than its RPC's would
/// read and write the wrong JSON: start-up stops and says which.
#[tokio::test]
async fn a_typed_road_with_another_rpcs_messages_stops_start_up() {
    use greet_gateway::{
        pb::greet::v1::{GreetRequest, GreetResponse},
        transcode::typed::TypedRpc,
    };
    let greet_types = TypedRpc::new(
        "/library.v1.LibraryService/Search",
        |_: GreetRequest| async move { Ok::<_, Status>(GreetResponse::default()) },
    );
    assert_eq!(
        start_up_error(greet_types).await,
        "typed REST road for /library.v1.LibraryService/Search: \
         its request type is greet.v1.GreetRequest, but the RPC's request is library.v1.BookRequest"
    );
    // Schemaless JSON stands for any request, but the response is checked.
    let greet_response =
        TypedRpc::new("/library.v1.LibraryService/Search", |_: Value| async move {
            Ok::<_, Status>(GreetResponse::default())
        });
    assert_eq!(
        start_up_error(greet_response).await,
        "typed REST road for /library.v1.LibraryService/Search: \
         its response type is greet.v1.GreetResponse, but the RPC's response is library.v1.BookReply"
    );
}
