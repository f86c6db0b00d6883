//! One table of cases, run over every protocol: REST, gRPC-Web and native
//! gRPC must give the same greeting or the same error, word for word.

mod common;

use common::{TestApp, spawn_app};
use greet_gateway::pb::greet::v1::{GreetRequest, GreetResponse};
use prost::Message as _;

/// What every protocol must answer.
#[derive(Debug, PartialEq)]
enum Outcome {
    Greeting(String),
    Invalid(String),
}

fn cases() -> Vec<(Option<&'static str>, Option<&'static str>, Outcome)> {
    use Outcome::{Greeting, Invalid};
    vec![
        (Some("Alice"), Some("es"), Greeting("Hola, Alice!".into())),
        (Some("Alice"), None, Greeting("Hello, Alice!".into())),
        (Some(" Zoë "), Some("FR"), Greeting("Bonjour, Zoë!".into())),
        (Some("李"), Some("en"), Greeting("Hello, 李!".into())),
        (None, None, Invalid("Missing request body".into())),
        (
            None,
            Some("fr"),
            Invalid("Missing required field: 'name'".into()),
        ),
        (
            Some(""),
            None,
            Invalid("Field 'name' cannot be empty".into()),
        ),
        (
            Some(" \t"),
            Some("zz"),
            Invalid("Field 'name' cannot be empty".into()),
        ),
        (
            Some("Alice"),
            Some("Foo"),
            Invalid("Invalid or unsupported language selection: 'foo'".into()),
        ),
    ]
}

async fn over_rest(app: &TestApp, name: Option<&str>, lang: Option<&str>) -> Outcome {
    let mut body = serde_json::Map::new();
    if let Some(name) = name {
        body.insert("name".into(), name.into());
    }
    if let Some(lang) = lang {
        body.insert("lang".into(), lang.into());
    }
    let response = app
        .post_greet(&serde_json::Value::Object(body).to_string())
        .await;
    let status = response.status();
    let json = common::json(response).await;
    match status.as_u16() {
        200 => Outcome::Greeting(json["greeting"].as_str().unwrap().to_owned()),
        400 => Outcome::Invalid(json["error"].as_str().unwrap().to_owned()),
        other => panic!("unexpected {other}: {json}"),
    }
}

async fn over_grpc(app: &TestApp, name: Option<&str>, lang: Option<&str>) -> Outcome {
    let request = GreetRequest {
        name: name.map(str::to_owned),
        lang: lang.map(str::to_owned),
    };
    match app.grpc_client().await.greet(request).await {
        Ok(reply) => Outcome::Greeting(reply.into_inner().greeting),
        Err(status) if status.code() == tonic::Code::InvalidArgument => {
            Outcome::Invalid(status.message().to_owned())
        }
        Err(status) => panic!("unexpected {status:?}"),
    }
}

async fn over_grpc_web(app: &TestApp, name: Option<&str>, lang: Option<&str>) -> Outcome {
    let message = GreetRequest {
        name: name.map(str::to_owned),
        lang: lang.map(str::to_owned),
    }
    .encode_to_vec();
    let mut frame = vec![0];
    frame.extend_from_slice(&(message.len() as u32).to_be_bytes());
    frame.extend_from_slice(&message);
    let response = app
        .http
        .post(app.url("/greet.v1.GreetService/Greet"))
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .body(frame)
        .send()
        .await
        .unwrap();
    if let Some(status) = tonic::Status::from_header_map(response.headers()) {
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        return Outcome::Invalid(status.message().to_owned());
    }
    let body = response.bytes().await.unwrap();
    let len = u32::from_be_bytes(body[1..5].try_into().unwrap()) as usize;
    let reply = GreetResponse::decode(&body[5..5 + len]).unwrap();
    let trailer = String::from_utf8_lossy(&body[5 + len + 5..]).into_owned();
    assert_eq!(trailer, "grpc-status:0\r\n");
    Outcome::Greeting(reply.greeting)
}

#[tokio::test]
async fn every_case_gives_the_same_answer_on_every_protocol() {
    let app = spawn_app().await;
    for (name, lang, expected) in cases() {
        let case = format!("name={name:?} lang={lang:?}");
        assert_eq!(over_rest(&app, name, lang).await, expected, "REST {case}");
        assert_eq!(
            over_grpc_web(&app, name, lang).await,
            expected,
            "gRPC-Web {case}"
        );
        assert_eq!(over_grpc(&app, name, lang).await, expected, "gRPC {case}");
    }
}
