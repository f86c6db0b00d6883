//! Any bytes as the body of `POST /greet`, straight into the JSON → protobuf
//! transcoder: it must return a message or an error, never panic; and a
//! message it accepts must come back unchanged from its own proto3 JSON
//! (decode ∘ encode ∘ decode = decode). And the typed road's parser
//! (`src/transcode/typed.rs`) accepts nothing the dynamic one refuses or
//! reads differently.
#![no_main]

use std::sync::OnceLock;

use greet_gateway::{
    pb::{self, greet::v1::GreetRequest},
    transcode::{json, rules},
};
use libfuzzer_sys::fuzz_target;
use prost::Message as _;
use prost_reflect::DescriptorPool;

fn binding() -> &'static rules::Binding {
    static BINDING: OnceLock<rules::Binding> = OnceLock::new();
    BINDING.get_or_init(|| {
        let pool = DescriptorPool::decode(pb::FILE_DESCRIPTOR_SET).expect("our descriptors");
        rules::bindings(&pool)
            .expect("our annotations")
            .into_iter()
            .find(|b| b.template.matches("/greet").is_some())
            .expect("POST /greet is annotated")
    })
}

fuzz_target!(|body: &[u8]| {
    let binding = binding();
    if let Ok(typed) = serde_json::from_slice::<GreetRequest>(body) {
        let dynamic = json::request_message(binding, Vec::new(), None, body)
            .unwrap_or_else(|e| panic!("typed accepted {body:?}, dynamic refused: {e}"));
        assert_eq!(dynamic.encode_to_vec(), typed.encode_to_vec(), "{body:?}");
    }
    let Ok(message) = json::request_message(binding, Vec::new(), None, body) else {
        return;
    };
    let again = serde_json::to_vec(&message).expect("a message always serializes");
    let reparsed = json::request_message(binding, Vec::new(), None, &again)
        .unwrap_or_else(|e| panic!("our own JSON {again:?} was refused: {e}"));
    assert_eq!(reparsed, message);
});
