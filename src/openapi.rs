//! The OpenAPI 3.1 document of the REST routes, generated once at start-up
//! from the same descriptors and `google.api.http` bindings the transcoder
//! serves ([`crate::transcode::rules`]), so it cannot drift from them. The
//! transcoder serves it at [`PATH`].
//!
//! What maps to what:
//! - each binding (`additional_bindings` included) is one operation; its path
//!   template becomes an OpenAPI path: `{field}` and `{field.sub}` stay,
//!   `{field=shelves/*/books/*}` becomes `{field}` with a `pattern`, and a
//!   `:verb` stays literal text;
//! - path variables are path parameters; the fields the transcoder takes from
//!   the query string are query parameters (`a.b` for sub-fields, repeated
//!   by repetition, enums by name);
//! - `body: "*"` is the request message, `body: "field"` that field, no body
//!   none; `response_body` picks the 200 schema;
//! - messages are component schemas in the proto3 JSON mapping (`schema.rs`);
//!   proto comments become descriptions (`comments.rs`);
//! - errors are `{"error": string}` with the statuses of the README's
//!   contract table.
//!
//! Limitations:
//! - OpenAPI 3.1 has no custom methods: a `custom` rule's operation sits in
//!   the path item's `x-additionalOperations` (OpenAPI 3.2's
//!   `additionalOperations`, under an extension name);
//! - a variable spanning segments is sent with its slashes as they are
//!   (RFC 6570 reserved expansion, `{+name}`), which OpenAPI cannot say:
//!   such parameters carry `x-reserved-expansion: true` and say so in their
//!   description; a client that percent-encodes the slashes gets a 404;
//! - two routes of one method whose paths differ only inside multi-segment
//!   variables (`/v1/{name=shelves/*}` and `/v1/{name=authors/*}`) would
//!   share one OpenAPI path and method: the first is documented, the second
//!   logged as a warning.

mod comments;
mod schema;

use std::collections::{BTreeMap, BTreeSet, HashSet};

use http::Method;
use prost_reflect::{
    DescriptorPool, FieldDescriptor, Kind, MessageDescriptor, MethodDescriptor, ServiceDescriptor,
};
use serde_json::{Map, Value, json};

use crate::transcode::{
    rules::{Binding, BodyTarget},
    template::{PathTemplate, Segment},
};
use schema::{Place, Schemas};

/// Where the document is served on the API port.
pub const PATH: &str = "/openapi.json";

/// The content type of request and response bodies.
const JSON: &str = "application/json";

/// The component name of the `{"error": string}` body: with a `-`, which
/// no proto name has, so no message's component can take it.
const ERROR_SCHEMA: &str = "rest-error";

/// The methods an OpenAPI 3.1 path item has fields for.
const STANDARD_METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The document for `bindings`, all read from `pool`.
pub fn document(pool: &DescriptorPool, bindings: &[Binding]) -> Value {
    let mut schemas = Schemas::default();
    let mut services = BTreeMap::new();
    let mut operation_ids = HashSet::new();
    let names = slot_names(bindings);
    let mut paths: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    let mut seen = HashSet::new();
    for binding in bindings {
        let (path, params) = openapi_path(&binding.template, &names);
        if !seen.insert((shape(&binding.template), binding.method.clone())) {
            tracing::warn!(
                route = %format!("{} {}", binding.method, binding.template),
                "the OpenAPI document cannot tell this route from an earlier one of the same method; it is left out"
            );
            continue;
        }
        let rpc = method_of(pool, binding);
        if let Some(rpc) = &rpc {
            let service = rpc.parent_service();
            services.insert(service.full_name().to_owned(), service.clone());
        }
        let operation = operation(
            binding,
            rpc.as_ref(),
            &params,
            &mut schemas,
            &mut operation_ids,
        );
        let item = paths.entry(path).or_default();
        let method = binding.method.as_str().to_ascii_lowercase();
        if STANDARD_METHODS.contains(&method.as_str()) {
            item.insert(method, operation);
        } else {
            let custom = item
                .entry("x-additionalOperations")
                .or_insert_with(|| json!({}));
            custom[binding.method.as_str()] = operation;
        }
    }

    let mut components = json!({
        "responses": error_responses(),
    });
    let mut component_schemas = schemas.into_components();
    component_schemas.insert(
        ERROR_SCHEMA.to_owned(),
        json!({
            "type": "object",
            "description": "Every REST error: what went wrong, in words. \
                            Further fields may be added.",
            "properties": {"error": {"type": "string"}},
            "required": ["error"],
        }),
    );
    components["schemas"] = Value::Object(component_schemas);

    json!({
        "openapi": "3.1.0",
        "info": info(services.values()),
        "tags": services.values().map(|service| {
            let mut tag = json!({"name": service.full_name()});
            if let Some(text) = comments::of(&service.parent_file(), service.path()) {
                tag["description"] = Value::String(text);
            }
            tag
        }).collect::<Vec<_>>(),
        "paths": paths,
        "components": components,
    })
}

/// Whether the document can be served: no route of the protos takes
/// `GET /openapi.json` for itself (if one does, it wins).
pub fn path_is_free(bindings: &[Binding]) -> bool {
    !bindings
        .iter()
        .any(|b| b.method == Method::GET && b.template.matches(PATH).is_some())
}

/// Title and version from the services and their packages (`greet.v1`).
fn info<'a>(services: impl Iterator<Item = &'a ServiceDescriptor> + Clone) -> Value {
    let names: Vec<&str> = services.clone().map(|s| s.full_name()).collect();
    let packages: BTreeSet<&str> = services.map(|s| s.package_name()).collect();
    let version = if packages.is_empty() {
        env!("CARGO_PKG_VERSION").to_owned()
    } else {
        packages.into_iter().collect::<Vec<_>>().join(", ")
    };
    json!({
        "title": if names.is_empty() { "REST API".to_owned() } else { names.join(", ") },
        "version": version,
        "description": "The REST/JSON face of these gRPC services, generated from their \
            `google.api.http` annotations. Bodies follow the proto3 JSON mapping: \
            lowerCamelCase names (proto names are accepted too), default values omitted, \
            64-bit integers as strings, enums by name, `Timestamp` as RFC 3339. \
            Unknown fields and query parameters are refused with a 400.",
    })
}

/// The RPC's descriptor, for its comments and service.
fn method_of(pool: &DescriptorPool, binding: &Binding) -> Option<MethodDescriptor> {
    let path = binding.rpc.grpc_path.path().strip_prefix('/')?;
    let (service, method) = path.split_once('/')?;
    pool.get_service_by_name(service)?
        .methods()
        .find(|m| m.name() == method)
}

/// One path parameter as the template has it.
struct PathParam {
    /// The template's field path, e.g. `book.name`; `None` for a wildcard
    /// outside any variable.
    field_path: Option<String>,
    /// The name in the OpenAPI path (the field path, unless another route
    /// of the same shape named that slot first: see [`slot_names`]).
    name: String,
    /// The regular expression a value spanning segments must match.
    pattern: Option<String>,
    /// The value spans segments: its slashes are sent as they are.
    reserved: bool,
    /// A value spanning segments, for readers and for generators (which
    /// otherwise avoid slashes in path values).
    example: Option<String>,
}

/// A template with its variables' names left out: two templates of one
/// shape are the same OpenAPI path, which may name each slot once only.
fn shape(template: &PathTemplate) -> String {
    openapi_path_with(template, |_| String::new()).0
}

/// The name of each slot of each shape: the shortest field path any route
/// of that shape binds there (`name` over `book.name`).
fn slot_names(bindings: &[Binding]) -> BTreeMap<String, Vec<String>> {
    let mut names: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for binding in bindings {
        let paths = binding
            .template
            .variables()
            .iter()
            .map(|v| v.field_path.clone());
        let slots = names.entry(shape(&binding.template)).or_default();
        for (i, path) in paths.enumerate() {
            match slots.get_mut(i) {
                Some(slot) if path.len() < slot.len() => *slot = path,
                Some(_) => {}
                None => slots.push(path),
            }
        }
    }
    names
}

/// The OpenAPI path of a template, and its path parameters in order.
fn openapi_path(
    template: &PathTemplate,
    names: &BTreeMap<String, Vec<String>>,
) -> (String, Vec<PathParam>) {
    let slots = names.get(&shape(template));
    let mut index = 0;
    openapi_path_with(template, |field_path| {
        let name = slots
            .and_then(|s| s.get(index))
            .cloned()
            .unwrap_or_else(|| field_path.to_owned());
        index += 1;
        name
    })
}

fn openapi_path_with(
    template: &PathTemplate,
    mut name: impl FnMut(&str) -> String,
) -> (String, Vec<PathParam>) {
    let segments = template.segments();
    let mut path = String::new();
    let mut params = Vec::new();
    let mut wildcards = 0;
    let mut i = 0;
    while i < segments.len() {
        path.push('/');
        if let Some(variable) = template.variables().iter().find(|v| v.span().start == i) {
            let span = variable.span();
            let covered = &segments[span.clone()];
            let param = PathParam {
                name: name(&variable.field_path),
                field_path: Some(variable.field_path.clone()),
                pattern: value_pattern(covered),
                reserved: covered.len() > 1 || covered == [Segment::Multi],
                example: value_example(covered),
            };
            path.push('{');
            path.push_str(&param.name);
            path.push('}');
            params.push(param);
            i = span.end.max(i + 1);
            continue;
        }
        match &segments[i] {
            Segment::Literal(literal) => path.push_str(literal),
            // A wildcard outside any variable binds nothing but must be sent.
            wildcard => {
                wildcards += 1;
                let param = PathParam {
                    name: format!("wildcard{wildcards}"),
                    field_path: None,
                    pattern: None,
                    reserved: *wildcard == Segment::Multi,
                    example: value_example(std::slice::from_ref(wildcard)),
                };
                path.push('{');
                path.push_str(&param.name);
                path.push('}');
                params.push(param);
            }
        }
        i += 1;
    }
    if let Some(verb) = template.verb() {
        path.push(':');
        path.push_str(verb);
    }
    (path, params)
}

/// What a variable spanning `segments` accepts once decoded, as an anchored
/// regular expression; `None` for a lone `*` or `**`, which take anything.
fn value_pattern(segments: &[Segment]) -> Option<String> {
    if matches!(segments, [Segment::Single] | [Segment::Multi]) {
        return None;
    }
    let mut pattern = String::from("^");
    for (k, segment) in segments.iter().enumerate() {
        match segment {
            // `**` takes zero or more segments: after others, "" or "/...".
            Segment::Multi if k > 0 => pattern.push_str("(/.*)?"),
            Segment::Multi => pattern.push_str(".*"),
            other => {
                if k > 0 {
                    pattern.push('/');
                }
                match other {
                    Segment::Literal(literal) => pattern.push_str(&regex_escape(literal)),
                    _ => pattern.push_str("[^/]+"),
                }
            }
        }
    }
    pattern.push('$');
    Some(pattern)
}

/// A value for a variable spanning `segments`, slashes included:
/// `shelves/*/books/*` gives `shelves/1/books/2`, `**` gives `a/b`; `None`
/// for a single segment.
fn value_example(segments: &[Segment]) -> Option<String> {
    if matches!(segments, [Segment::Single]) {
        return None;
    }
    let mut wildcards = 0;
    let parts: Vec<String> = segments
        .iter()
        .map(|segment| match segment {
            Segment::Literal(literal) => literal.clone(),
            Segment::Single => {
                wildcards += 1;
                wildcards.to_string()
            }
            Segment::Multi => "a/b".to_owned(),
        })
        .collect();
    Some(parts.join("/"))
}

/// `text` as an ECMA-262 regular expression matching itself.
fn regex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\^$.|?*+()[]{}".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn operation(
    binding: &Binding,
    rpc: Option<&MethodDescriptor>,
    path_params: &[PathParam],
    schemas: &mut Schemas,
    operation_ids: &mut HashSet<String>,
) -> Value {
    let grpc = binding.rpc.grpc_path.path().trim_start_matches('/');
    let full_name = grpc.replace('/', ".");
    let mut operation = json!({
        "operationId": operation_id(grpc, operation_ids),
        "summary": full_name,
    });
    if let Some(rpc) = rpc {
        operation["tags"] = json!([rpc.parent_service().full_name()]);
        if let Some(text) = comments::of(&rpc.parent_file(), rpc.path()) {
            operation["description"] = Value::String(text);
        }
    }

    // `path_fields` has one entry per variable, in the template's order.
    let mut fields = binding.path_fields.iter();
    let mut parameters: Vec<Value> = path_params
        .iter()
        .map(|param| match &param.field_path {
            Some(field_path) => {
                let fields = fields.next().expect("one field path per variable");
                path_parameter(param, field_path, fields, schemas)
            }
            None => wildcard_parameter(param),
        })
        .collect();
    let bound: HashSet<&str> = path_params
        .iter()
        .filter_map(|p| p.field_path.as_deref())
        .collect();
    if binding.body != BodyTarget::Whole {
        query_parameters(binding, &bound, schemas, &mut parameters);
    }
    if !parameters.is_empty() {
        operation["parameters"] = Value::Array(parameters);
    }

    let body = match &binding.body {
        BodyTarget::None => None,
        BodyTarget::Whole => Some((
            schemas.message(&binding.rpc.input, Place::Json),
            if path_params.is_empty() {
                format!("A `{}`.", binding.rpc.input.full_name())
            } else {
                format!(
                    "A `{}`; the fields the path binds are taken from the path, \
                     whatever the body says.",
                    binding.rpc.input.full_name()
                )
            },
        )),
        BodyTarget::Field(field) => Some((
            schemas.field(field, Place::Json),
            format!(
                "The `{}` field of a `{}`.",
                field.name(),
                binding.rpc.input.full_name()
            ),
        )),
    };
    if let Some((schema, description)) = body {
        operation["requestBody"] = json!({
            "description": description,
            "content": {JSON: {"schema": schema}},
        });
    }

    let (ok_schema, ok_description) = match &binding.response_body {
        None => (
            schemas.message(&binding.rpc.output, Place::Json),
            format!("A `{}`.", binding.rpc.output.full_name()),
        ),
        Some(field) => (
            schemas.field(field, Place::Json),
            format!(
                "The `{}` field of a `{}`.",
                field.name(),
                binding.rpc.output.full_name()
            ),
        ),
    };
    let mut responses = json!({
        "200": {"description": ok_description, "content": {JSON: {"schema": ok_schema}}},
    });
    for (status, name) in ERRORS {
        let applies = match *status {
            "405" => !path_params.is_empty(),
            "413" | "415" => binding.body != BodyTarget::None,
            _ => true,
        };
        if applies {
            responses[*status] = json!({"$ref": format!("#/components/responses/{name}")});
        }
    }
    operation["responses"] = responses;
    operation
}

/// `Service_Method` (grpc-gateway's form), made unique with `_2`, `_3`...
/// for the further routes of one RPC, in the order the transcoder tries
/// them (a `:verb` route first).
fn operation_id(grpc_path: &str, taken: &mut HashSet<String>) -> String {
    let (service, method) = grpc_path.split_once('/').unwrap_or(("", grpc_path));
    let short = service.rsplit('.').next().unwrap_or(service);
    let base = format!("{short}_{method}");
    let mut id = base.clone();
    let mut n = 1;
    while !taken.insert(id.clone()) {
        n += 1;
        id = format!("{base}_{n}");
    }
    id
}

fn path_parameter(
    param: &PathParam,
    field_path: &str,
    fields: &[FieldDescriptor],
    schemas: &mut Schemas,
) -> Value {
    let leaf = fields.last().expect("a field path is never empty");
    let mut schema = schemas.single(&leaf.kind(), Place::Url);
    if leaf.kind() == Kind::String {
        match &param.pattern {
            Some(pattern) => schema["pattern"] = json!(pattern),
            // A segment is never empty.
            None if !param.reserved => schema["minLength"] = json!(1),
            None => {}
        }
    }
    let mut description = Vec::new();
    if param.name != field_path {
        description.push(format!("Binds the field `{field_path}`."));
    }
    if let Some(text) = comments::of(&leaf.parent_file(), leaf.path()) {
        description.push(text);
    }
    if param.reserved {
        description.push(format!(
            "Spans path segments: send its slashes as they are, not as `%2F` \
             (RFC 6570 reserved expansion, `{{+{}}}`).",
            param.name
        ));
    }
    let mut parameter = json!({
        "name": param.name,
        "in": "path",
        "required": true,
        "schema": schema,
    });
    if !description.is_empty() {
        parameter["description"] = json!(description.join("\n\n"));
    }
    if param.reserved {
        parameter["x-reserved-expansion"] = json!(true);
    }
    if let Some(example) = &param.example {
        parameter["example"] = json!(example);
    }
    parameter
}

fn wildcard_parameter(param: &PathParam) -> Value {
    let mut parameter = json!({
        "name": param.name,
        "in": "path",
        "required": true,
        "description": "Any segment; the route binds it to no field.",
        "schema": {"type": "string", "minLength": 1},
    });
    if param.reserved {
        parameter["x-reserved-expansion"] = json!(true);
        parameter["schema"] = json!({"type": "string"});
    }
    if let Some(example) = &param.example {
        parameter["example"] = json!(example);
    }
    parameter
}

/// The fields the transcoder takes from the query string: every field
/// neither the path nor the body binds, sub-fields as `a.b` (through
/// singular messages, each message type once per path), lists by
/// repetition; maps, and types with no string form, cannot be sent.
fn query_parameters(
    binding: &Binding,
    bound: &HashSet<&str>,
    schemas: &mut Schemas,
    out: &mut Vec<Value>,
) {
    let body_field = match &binding.body {
        BodyTarget::Field(field) => Some(field),
        _ => None,
    };
    let mut stack = vec![binding.rpc.input.full_name().to_owned()];
    let mut walk = QueryWalk {
        body_field,
        bound,
        stack: &mut stack,
        schemas,
        out,
    };
    walk.message(&binding.rpc.input, "");
}

/// The state of [`query_parameters`]' walk through the request message.
struct QueryWalk<'a> {
    /// `body: "field"`: that top-level field comes from the body.
    body_field: Option<&'a FieldDescriptor>,
    /// Field paths the path binds.
    bound: &'a HashSet<&'a str>,
    /// The message types on the way here (a message may contain itself).
    stack: &'a mut Vec<String>,
    schemas: &'a mut Schemas,
    out: &'a mut Vec<Value>,
}

impl QueryWalk<'_> {
    fn message(&mut self, message: &MessageDescriptor, prefix: &str) {
        for field in message.fields() {
            if prefix.is_empty() && Some(&field) == self.body_field {
                continue;
            }
            self.field(&field, prefix);
        }
    }

    fn field(&mut self, field: &FieldDescriptor, prefix: &str) {
        let name = format!("{prefix}{}", field.name());
        if self.bound.contains(name.as_str()) || field.is_map() {
            return;
        }
        let element = match field.kind() {
            Kind::Message(inner) if schema::is_well_known(inner.full_name()) => {
                match schema::well_known(inner.full_name(), Place::Url) {
                    Some(schema) => schema,
                    None => return,
                }
            }
            Kind::Message(inner) => {
                if !field.is_list() && !self.stack.iter().any(|s| s == inner.full_name()) {
                    self.stack.push(inner.full_name().to_owned());
                    self.message(&inner, &format!("{name}."));
                    self.stack.pop();
                }
                return;
            }
            kind => self.schemas.single(&kind, Place::Url),
        };
        let schema = if field.is_list() {
            json!({"type": "array", "items": element})
        } else {
            element
        };
        let mut parameter = json!({"name": name, "in": "query", "schema": schema});
        if let Some(text) = comments::of(&field.parent_file(), field.path()) {
            parameter["description"] = Value::String(text);
        }
        self.out.push(parameter);
    }
}

/// The error statuses of the README's contract table, each a component
/// response: (status, component name).
const ERRORS: &[(&str, &str)] = &[
    ("400", "BadRequest"),
    ("404", "NotFound"),
    ("405", "MethodNotAllowed"),
    ("413", "PayloadTooLarge"),
    ("415", "UnsupportedMediaType"),
    ("503", "ServiceUnavailable"),
    ("504", "GatewayTimeout"),
];

fn error_responses() -> Value {
    let error = |description: &str| {
        json!({
            "description": description,
            "content": {JSON: {"schema": {"$ref": format!("#/components/schemas/{ERROR_SCHEMA}")}}},
        })
    };
    let mut method_not_allowed = error(
        "The path is a route of other methods only (a path parameter outside \
         this operation's pattern can make it one); `Allow` lists them.",
    );
    method_not_allowed["headers"] = json!({
        "Allow": {"required": true, "schema": {"type": "string"}},
    });
    json!({
        "BadRequest": error(
            "Malformed or mistyped JSON, an unknown field or query parameter, a path or \
             query value of the wrong type, or INVALID_ARGUMENT (also FAILED_PRECONDITION, \
             OUT_OF_RANGE) from the RPC; the message says what and where."),
        "NotFound": error(
            "No route has this path (a path parameter outside its pattern), or NOT_FOUND \
             from the RPC."),
        "MethodNotAllowed": method_not_allowed,
        "PayloadTooLarge": error(
            "The body is over the gateway's limit (`--max-body-bytes`, 1 MiB by default)."),
        "UnsupportedMediaType": error(
            "A body that is not `application/json` (or another `+json` type)."),
        "ServiceUnavailable": error(
            "The gateway is at its concurrent-request limit (retry shortly), or \
             UNAVAILABLE from the RPC."),
        "GatewayTimeout": error(
            "The request outlasted the gateway's request timeout, or DEADLINE_EXCEEDED \
             from the RPC."),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{pb, transcode::rules};

    const LIBRARY: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/library_descriptor.bin"));
    const KINDS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/kinds_descriptor.bin"));

    fn document_of(sets: &[&[u8]]) -> Value {
        let mut pool = DescriptorPool::new();
        for set in sets {
            pool.decode_file_descriptor_set(*set).unwrap();
        }
        document(&pool, &rules::bindings(&pool).unwrap())
    }

    #[test]
    fn greet_is_one_post_with_its_messages_and_the_contract_errors() {
        let document = document_of(&[pb::FILE_DESCRIPTOR_SET]);
        assert_eq!(document["openapi"], "3.1.0");
        assert_eq!(document["info"]["title"], "greet.v1.GreetService");
        assert_eq!(document["info"]["version"], "greet.v1");
        assert_eq!(
            document["tags"],
            json!([{
                "name": "greet.v1.GreetService",
                "description": "Greets people in English, Spanish or French.",
            }])
        );
        let error = |name: &str| json!({"$ref": format!("#/components/responses/{name}")});
        assert_eq!(
            document["paths"],
            json!({"/greet": {"post": {
                "operationId": "GreetService_Greet",
                "summary": "greet.v1.GreetService.Greet",
                "tags": ["greet.v1.GreetService"],
                "description": "A greeting for `name` in `lang`, stamped with the server's time.\n\
                    Errors: a missing body, a missing or blank `name`, or an unsupported\n\
                    `lang` are INVALID_ARGUMENT (HTTP 400) with the reason as the message.",
                "requestBody": {
                    "description": "A `greet.v1.GreetRequest`.",
                    "content": {"application/json": {"schema":
                        {"$ref": "#/components/schemas/greet.v1.GreetRequest"}}},
                },
                "responses": {
                    "200": {
                        "description": "A `greet.v1.GreetResponse`.",
                        "content": {"application/json": {"schema":
                            {"$ref": "#/components/schemas/greet.v1.GreetResponse"}}},
                    },
                    "400": error("BadRequest"),
                    "404": error("NotFound"),
                    "413": error("PayloadTooLarge"),
                    "415": error("UnsupportedMediaType"),
                    "503": error("ServiceUnavailable"),
                    "504": error("GatewayTimeout"),
                },
            }}})
        );
        let schemas = &document["components"]["schemas"];
        assert_eq!(
            schemas.as_object().unwrap().keys().collect::<Vec<_>>(),
            [
                "greet.v1.GreetRequest",
                "greet.v1.GreetResponse",
                "rest-error"
            ]
        );
        assert_eq!(
            schemas["greet.v1.GreetRequest"],
            json!({
                "type": "object",
                "description": "Who to greet, and in which language.",
                "additionalProperties": false,
                "properties": {
                    "name": {"type": "string", "description":
                        "Required: the name to greet; white space around it is trimmed, and it\n\
                         must not be blank."},
                    "lang": {"type": "string", "description":
                        "`en` (the default), `es` or `fr`, in any letter case."},
                },
            })
        );
        assert_eq!(
            schemas["greet.v1.GreetResponse"]["properties"],
            json!({
                "greeting": {"type": "string", "description":
                    "`Hello, <name>!` in the requested language, e.g. `Hola, Alice!`."},
                "timestamp": {"type": "string", "format": "date-time",
                    "description": "When the greeting was made (UTC)."},
            })
        );
        assert_eq!(
            document["components"]["responses"]
                .as_object()
                .unwrap()
                .keys()
                .collect::<Vec<_>>(),
            [
                "BadRequest",
                "GatewayTimeout",
                "MethodNotAllowed",
                "NotFound",
                "PayloadTooLarge",
                "ServiceUnavailable",
                "UnsupportedMediaType"
            ]
        );
    }

    /// (template, OpenAPI path, each parameter's name, pattern, example;
    /// those with an example span segments).
    #[test]
    fn templates_become_openapi_paths() {
        type Param = (&'static str, Option<&'static str>, Option<&'static str>);
        const SHELF_BOOK: &str = "^shelves/[^/]+/books/[^/]+$";
        let cases: [(&str, &str, &[Param]); 8] = [
            ("/greet", "/greet", &[]),
            (
                "/v1/shelves/{shelf}",
                "/v1/shelves/{shelf}",
                &[("shelf", None, None)],
            ),
            (
                "/v1/{book.name=shelves/*/books/*}",
                "/v1/{book.name}",
                &[("book.name", Some(SHELF_BOOK), Some("shelves/1/books/2"))],
            ),
            (
                "/v1/{name=shelves/*/books/*}:title",
                "/v1/{name}:title",
                &[("name", Some(SHELF_BOOK), Some("shelves/1/books/2"))],
            ),
            (
                "/v1/files/{path=**}",
                "/v1/files/{path}",
                &[("path", None, Some("a/b"))],
            ),
            (
                "/v1/{p=a.b/**}",
                "/v1/{p}",
                &[("p", Some("^a\\.b(/.*)?$"), Some("a.b/a/b"))],
            ),
            ("/v1/{p=*}/x", "/v1/{p}/x", &[("p", None, None)]),
            (
                "/v1/*/x/{id}",
                "/v1/{wildcard1}/x/{id}",
                &[("wildcard1", None, None), ("id", None, None)],
            ),
        ];
        for (template, path, params) in cases {
            let template = PathTemplate::parse(template).unwrap();
            let (got, got_params) = openapi_path(&template, &BTreeMap::new());
            assert_eq!(got, path, "{template}");
            let got_params: Vec<_> = got_params
                .into_iter()
                .map(|p| {
                    assert_eq!(p.reserved, p.example.is_some(), "{template}");
                    (p.name, p.pattern, p.example)
                })
                .collect();
            let params: Vec<_> = params
                .iter()
                .map(|(name, pattern, example)| {
                    (
                        (*name).to_owned(),
                        pattern.map(str::to_owned),
                        example.map(str::to_owned),
                    )
                })
                .collect();
            assert_eq!(got_params, params, "{template}");
        }
    }

    #[test]
    fn library_routes_each_have_one_operation() {
        let document = document_of(&[pb::FILE_DESCRIPTOR_SET, LIBRARY]);
        let mut operations = Vec::new();
        for (path, item) in document["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                let method = method.to_ascii_uppercase();
                match operation.get("operationId") {
                    Some(id) => operations.push(format!("{method} {path} {id}")),
                    // x-additionalOperations: custom methods by name.
                    None => {
                        operations.extend(
                            operation.as_object().unwrap().iter().map(|(custom, op)| {
                                format!("{custom} {path} {}", op["operationId"])
                            }),
                        )
                    }
                }
            }
        }
        assert_eq!(
            operations,
            [
                r#"POST /greet "GreetService_Greet""#,
                r#"LIST /v1/books "LibraryService_ListBooks""#,
                r#"GET /v1/files/{path} "LibraryService_GetFile""#,
                r#"GET /v1/search "LibraryService_Search_2""#,
                r#"POST /v1/search "LibraryService_Search_3""#,
                r#"GET /v1/shelves/{shelf} "LibraryService_GetShelf""#,
                r#"POST /v1/shelves/{shelf}/books "LibraryService_CreateBook""#,
                r#"PUT /v1/shelves/{shelf}/books/{name} "LibraryService_ReplaceBook""#,
                r#"GET /v1/shelves/{shelf}:search "LibraryService_Search""#,
                r#"DELETE /v1/{name} "LibraryService_DeleteBook""#,
                r#"PATCH /v1/{name} "LibraryService_UpdateBook""#,
                r#"GET /v1/{name}:title "LibraryService_GetBookTitle""#,
            ]
        );
    }

    #[test]
    fn path_query_and_body_fields_are_told_apart() {
        let document = document_of(&[pb::FILE_DESCRIPTOR_SET, LIBRARY]);
        let names = |path: &str, method: &str| -> Vec<String> {
            document["paths"][path][method]["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    format!(
                        "{}:{}",
                        p["in"].as_str().unwrap(),
                        p["name"].as_str().unwrap()
                    )
                })
                .collect()
        };
        // Everything but the path variable from the query, sub-fields dotted.
        assert_eq!(
            names("/v1/shelves/{shelf}", "get"),
            [
                "path:shelf",
                "query:name",
                "query:book.name",
                "query:book.title",
                "query:book.pages",
                "query:book.tags",
                "query:book.author.name",
                "query:book.author.born",
                "query:book.available",
                "query:book.genre",
                "query:path",
                "query:tags",
                "query:page_size",
                "query:genre",
                "query:archived",
            ]
        );
        // `body: "book"`: the book is the body, the rest still the query.
        assert_eq!(
            names("/v1/shelves/{shelf}/books", "post"),
            [
                "path:shelf",
                "query:name",
                "query:path",
                "query:tags",
                "query:page_size",
                "query:genre",
                "query:archived",
            ]
        );
        let update = &document["paths"]["/v1/{name}"]["patch"];
        assert_eq!(
            update["parameters"][0],
            json!({
                "name": "name",
                "in": "path",
                "required": true,
                "schema": {"type": "string", "pattern": "^shelves/[^/]+/books/[^/]+$"},
                "description": "Binds the field `book.name`.\n\nSpans path segments: send its \
                    slashes as they are, not as `%2F` (RFC 6570 reserved expansion, `{+name}`).",
                "x-reserved-expansion": true,
                "example": "shelves/1/books/2",
            })
        );
        assert_eq!(
            update["requestBody"]["content"]["application/json"]["schema"],
            json!({"$ref": "#/components/schemas/library.v1.Book"})
        );
        // `body: "*"`: nothing from the query.
        assert_eq!(
            names("/v1/shelves/{shelf}/books/{name}", "put"),
            ["path:shelf", "path:name"]
        );
        // Query values: repeated as arrays, enums by name only, int64 as strings.
        let get_shelf = &document["paths"]["/v1/shelves/{shelf}"]["get"]["parameters"];
        assert_eq!(
            get_shelf[11],
            json!({"name": "tags", "in": "query", "schema": {"type": "array", "items": {"type": "string"}}})
        );
        assert_eq!(
            get_shelf[13]["schema"],
            json!({"type": "string", "enum": ["GENRE_UNSPECIFIED", "GENRE_FICTION", "GENRE_HISTORY"]})
        );
        assert_eq!(
            get_shelf[4]["schema"],
            json!({"type": "string", "format": "int64", "pattern": "^-?[0-9]+$"})
        );
        // `response_body: "request"`: the 200 is that field's message.
        assert_eq!(
            document["paths"]["/v1/{name}:title"]["get"]["responses"]["200"]["content"]["application/json"]
                ["schema"]["$ref"],
            "#/components/schemas/library.v1.BookRequest"
        );
    }

    #[test]
    fn enums_are_names_or_the_numbers_proto3_keeps() {
        let document = document_of(&[pb::FILE_DESCRIPTOR_SET, LIBRARY]);
        let schemas = &document["components"]["schemas"];
        assert_eq!(
            schemas["library.v1.Genre"]["anyOf"],
            json!([
                {"type": "string", "enum": ["GENRE_UNSPECIFIED", "GENRE_FICTION", "GENRE_HISTORY"]},
                {"type": "integer", "format": "int32"},
            ])
        );
        assert_eq!(
            schemas["library.v1.Book"]["properties"]["genre"],
            json!({"$ref": "#/components/schemas/library.v1.Genre"})
        );
    }

    /// The proto3 JSON form of each kind of field, as the transcoder
    /// writes it (and reads it, among other forms).
    #[test]
    fn each_kind_of_field_has_its_proto3_json_schema() {
        let document = document_of(&[KINDS]);
        let kinds = &document["components"]["schemas"]["kinds.v1.Kinds"];
        let int32 = json!({"type": "integer", "format": "int32",
            "minimum": -2147483648i64, "maximum": 2147483647});
        let uint32 = json!({"type": "integer", "minimum": 0, "maximum": 4294967295u32});
        let int64 = json!({"type": "string", "format": "int64", "pattern": "^-?[0-9]+$"});
        let uint64 = json!({"type": "string", "format": "uint64", "pattern": "^[0-9]+$"});
        let special = json!({"type": "string", "enum": ["NaN", "Infinity", "-Infinity"]});
        let double = json!({"oneOf": [{"type": "number", "format": "double"}, special]});
        let float = json!({"oneOf": [
            {"type": "number", "format": "float", "minimum": -3.4028235e38, "maximum": 3.4028235e38},
            special,
        ]});
        let bytes = json!({"type": "string", "format": "byte", "contentEncoding": "base64"});
        let color = json!({"$ref": "#/components/schemas/kinds.v1.Color"});
        let nested = json!({"$ref": "#/components/schemas/kinds.v1.Nested"});
        let array = |items: &Value| json!({"type": "array", "items": items});
        let or_null = |schema: &Value| json!({"anyOf": [schema, {"type": "null"}]});
        let oneof = "One of `choice`: set at most one of choiceText, choiceNumber, \
                     choiceNested, choiceValue.";
        let with_oneof = |schema: &Value| {
            let mut schema = schema.clone();
            schema["description"] = json!(oneof);
            schema
        };
        let integer_keys = json!({"pattern": "^-?[0-9]+$"});
        let expected = json!({
            "anInt32": int32, "anInt64": int64, "aUint32": uint32, "aUint64": uint64,
            "aSint32": int32, "aSint64": int64, "aFixed32": uint32, "aFixed64": uint64,
            "anSfixed32": int32, "anSfixed64": int64,
            "aFloat": float, "aDouble": double,
            "aBool": {"type": "boolean"}, "aString": {"type": "string"}, "someBytes": bytes,
            "color": color, "nested": nested,
            "int32s": array(&int32), "int64s": array(&int64), "doubles": array(&double),
            "strings": array(&json!({"type": "string"})), "bytesList": array(&bytes),
            "colors": array(&color), "nesteds": array(&nested),
            "byString": {"type": "object", "additionalProperties": int32},
            "byInt32": {"type": "object", "additionalProperties": {"type": "string"},
                "propertyNames": integer_keys},
            "byInt64": {"type": "object", "additionalProperties": color,
                "propertyNames": integer_keys},
            "byUint32": {"type": "object", "additionalProperties": bytes,
                "propertyNames": {"pattern": "^[0-9]+$"}},
            "byBool": {"type": "object", "additionalProperties": nested,
                "propertyNames": {"enum": ["true", "false"]}},
            "doublesByName": {"type": "object", "additionalProperties": double},
        });
        let wrapped = json!({
            "choiceText": with_oneof(&json!({"type": "string"})),
            "choiceNumber": with_oneof(&int64),
            "choiceNested": with_oneof(&nested),
            "choiceValue": with_oneof(&json!({})),
            "maybeInt32": int32, "maybeString": {"type": "string"},
            "maybeColor": color, "maybeDouble": double,
            "timestamp": {"type": "string", "format": "date-time"},
            "duration": {"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]{1,9})?s$",
                "description": "Seconds with up to 9 fractional digits and an `s`, e.g. `1.5s`."},
            "int32Value": or_null(&int32), "int64Value": or_null(&int64),
            "uint64Value": or_null(&uint64), "uint32Value": or_null(&uint32),
            "floatValue": or_null(&float), "doubleValue": or_null(&double),
            "boolValue": or_null(&json!({"type": "boolean"})),
            "stringValue": or_null(&json!({"type": "string"})),
            "bytesValue": or_null(&bytes),
            "aStruct": {"type": "object"},
            "aValue": {},
            "aList": {"type": "array"},
            "fieldMask": {"type": "string", "description":
                "Comma-separated lowerCamelCase field paths, e.g. `title,author.name`."},
            "empty": {"type": "object", "additionalProperties": false},
            "nullValue": {"type": "null"},
            "values": array(&json!({})),
        });
        let mut expected = expected.as_object().unwrap().clone();
        expected.extend(wrapped.as_object().unwrap().clone());
        let properties = kinds["properties"].as_object().unwrap();
        for (name, schema) in &expected {
            assert_eq!(&properties[name], schema, "{name}");
        }
        assert_eq!(properties.len(), expected.len());
        assert_eq!(kinds["additionalProperties"], false);
        assert_eq!(
            kinds["allOf"],
            json!([{"oneOf": [
                {"required": ["choiceText"]},
                {"required": ["choiceNumber"]},
                {"required": ["choiceNested"]},
                {"required": ["choiceValue"]},
                {"not": {"anyOf": [
                    {"required": ["choiceText"]},
                    {"required": ["choiceNumber"]},
                    {"required": ["choiceNested"]},
                    {"required": ["choiceValue"]},
                ]}},
            ]}])
        );
        // A comment becomes a description; a recursive field is a `$ref`.
        assert_eq!(
            document["components"]["schemas"]["kinds.v1.Nested"],
            json!({
                "type": "object",
                "description": "A message within Kinds.",
                "properties": {
                    "label": {"type": "string"},
                    "count": int64,
                    "child": {"$ref": "#/components/schemas/kinds.v1.Nested",
                        "description": "Nested within Nested."},
                },
                "additionalProperties": false,
            })
        );

        // From the query string: no maps, no repeated or recursive messages
        // (a singular one by its scalar leaves), no JSON-only well-known
        // types; wrappers without `null`.
        let query = &document["paths"]["/v1/kinds"]["get"]["parameters"];
        let names: Vec<&str> = query
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "an_int32",
                "an_int64",
                "a_uint32",
                "a_uint64",
                "a_sint32",
                "a_sint64",
                "a_fixed32",
                "a_fixed64",
                "an_sfixed32",
                "an_sfixed64",
                "a_float",
                "a_double",
                "a_bool",
                "a_string",
                "some_bytes",
                "color",
                "nested.label",
                "nested.count",
                "int32s",
                "int64s",
                "doubles",
                "strings",
                "bytes_list",
                "colors",
                "choice_text",
                "choice_number",
                "choice_nested.label",
                "choice_nested.count",
                "maybe_int32",
                "maybe_string",
                "maybe_color",
                "maybe_double",
                "timestamp",
                "duration",
                "int32_value",
                "int64_value",
                "uint64_value",
                "float_value",
                "double_value",
                "string_value",
                "bytes_value",
                "field_mask",
                "null_value",
                "uint32_value",
            ]
        );
        assert_eq!(query[38]["schema"], double);
        assert_eq!(
            query[23]["schema"],
            json!({"type": "array", "items": {"type": "string",
                "enum": ["COLOR_UNSPECIFIED", "COLOR_RED", "COLOR_GREEN"]}})
        );
    }
}
