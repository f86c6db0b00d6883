//! One table of cases, run over REST, binary gRPC-Web and native gRPC: all
//! three must give the same greeting or the same error, word for word.

mod common;

use common::{TestApp, spawn_app};
use greet_gateway::pb::greet::v1::{GreetRequest, GreetResponse};
use prost::Message as _;

/// What a protocol answered: what every protocol must answer, or anything
/// else, described, so that one broken case does not hide the others.
#[derive(Debug, PartialEq)]
enum Outcome {
    Greeting(String),
    Invalid(String),
    Unexpected(String),
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
    let text = response.text().await.unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    match (status.as_u16(), &json["greeting"], &json["error"]) {
        (200, serde_json::Value::String(greeting), _) => Outcome::Greeting(greeting.clone()),
        (400, _, serde_json::Value::String(error)) => Outcome::Invalid(error.clone()),
        _ => Outcome::Unexpected(format!("{status} {text}")),
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
        Err(status) => Outcome::Unexpected(format!("{status:?}")),
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
        return match status.code() {
            tonic::Code::InvalidArgument => Outcome::Invalid(status.message().to_owned()),
            _ => Outcome::Unexpected(format!("{status:?}")),
        };
    }
    let body = response.bytes().await.unwrap();
    // One message frame, then the trailer frame: each a flag byte and a
    // 4-byte length before its bytes.
    let unexpected = || Outcome::Unexpected(format!("body {body:?}"));
    let Some(len) = body.get(1..5) else {
        return unexpected();
    };
    let len = u32::from_be_bytes(len.try_into().expect("four bytes")) as usize;
    let (Some(message), Some(trailer)) = (body.get(5..5 + len), body.get(5 + len + 5..)) else {
        return unexpected();
    };
    match GreetResponse::decode(message) {
        Ok(reply) if trailer == b"grpc-status:0\r\n" => Outcome::Greeting(reply.greeting),
        _ => unexpected(),
    }
}

/// Runs the whole table over all three protocols and fails once, listing
/// every case that answered otherwise.
#[tokio::test]
async fn each_case_gives_the_same_answer_on_rest_grpc_web_and_grpc() {
    let app = spawn_app().await;
    let mut failures = Vec::new();
    for (name, lang, expected) in cases() {
        let answers = [
            ("REST", over_rest(&app, name, lang).await),
            ("gRPC-Web", over_grpc_web(&app, name, lang).await),
            ("gRPC", over_grpc(&app, name, lang).await),
        ];
        for (protocol, answer) in answers {
            if answer != expected {
                failures.push(format!(
                    "{protocol} name={name:?} lang={lang:?}: expected {expected:?}, got {answer:?}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing case(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}
