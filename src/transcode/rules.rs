//! REST bindings read from the `(google.api.http)` annotations of a descriptor
//! pool: one [`Binding`] per `HttpRule` and per `additional_bindings` entry.
//!
//! Everything that can be wrong with an annotation (a bad template, a field
//! path that does not exist, a body field that is not a field) is found here,
//! at start-up.

use std::sync::Arc;

use http::Method;
use prost_reflect::{
    DescriptorPool, DynamicMessage, FieldDescriptor, Kind, MessageDescriptor, MethodDescriptor,
    Value,
};

use super::template::{PathTemplate, TemplateError};

/// The fully-qualified name of the `HttpRule` extension on `MethodOptions`.
const HTTP_EXTENSION: &str = "google.api.http";

/// An RPC reachable over REST.
#[derive(Debug)]
pub struct Rpc {
    /// `/package.Service/Method`: the gRPC path the transcoder calls.
    pub grpc_path: http::uri::PathAndQuery,
    pub input: MessageDescriptor,
    pub output: MessageDescriptor,
}

/// Where the request body goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyTarget {
    /// No `body`: the request has no body; fields come from path and query.
    None,
    /// `body: "*"`: the whole message; the query string is not used.
    Whole,
    /// `body: "field"`: that one top-level field.
    Field(FieldDescriptor),
}

/// One HTTP route of one RPC.
#[derive(Debug)]
pub struct Binding {
    pub method: Method,
    pub template: PathTemplate,
    /// Field path of each template variable, resolved against the input.
    pub path_fields: Vec<Vec<FieldDescriptor>>,
    pub body: BodyTarget,
    /// `response_body: "field"`: only this field of the response is returned.
    pub response_body: Option<FieldDescriptor>,
    pub rpc: Arc<Rpc>,
}

/// Why an annotation could not be turned into a route.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error("{rpc}: {source}")]
    Template {
        rpc: String,
        #[source]
        source: TemplateError,
    },
    #[error("{rpc}: '{path}' is not a field path of {message}: {reason}")]
    FieldPath {
        rpc: String,
        path: String,
        message: String,
        reason: &'static str,
    },
    #[error("{rpc}: HTTP method '{method}' is not a valid method name")]
    Method { rpc: String, method: String },
    #[error("{rpc}: an HttpRule needs one of get, put, post, delete, patch or custom")]
    NoPattern { rpc: String },
}

/// Every REST binding of every service in `pool`. Streaming RPCs are skipped:
/// they are served over gRPC and gRPC-Web only.
pub fn bindings(pool: &DescriptorPool) -> Result<Vec<Binding>, RuleError> {
    let Some(extension) = pool.get_extension_by_name(HTTP_EXTENSION) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for service in pool.services() {
        for method in service.methods() {
            let options = method.options();
            if !options.has_extension(&extension) {
                continue;
            }
            if method.is_client_streaming() || method.is_server_streaming() {
                tracing::warn!(
                    rpc = method.full_name(),
                    "streaming RPCs are not served over REST"
                );
                continue;
            }
            let rpc = Arc::new(Rpc {
                grpc_path: format!("/{}/{}", service.full_name(), method.name())
                    .parse()
                    .expect("service and method names are valid path characters"),
                input: method.input(),
                output: method.output(),
            });
            let rule = options.get_extension(&extension);
            let Some(rule) = rule.as_message() else {
                continue;
            };
            push_rule(&method, &rpc, rule, &mut out)?;
            if let Some(extra) = rule.get_field_by_name("additional_bindings")
                && let Some(list) = extra.as_list()
            {
                for nested in list.iter().filter_map(Value::as_message) {
                    push_rule(&method, &rpc, nested, &mut out)?;
                }
            }
        }
    }
    // Most specific first, so the first match wins (the sort is stable:
    // equally specific routes keep their proto order).
    out.sort_by_key(|b| b.template.specificity());
    Ok(out)
}

fn push_rule(
    method: &MethodDescriptor,
    rpc: &Arc<Rpc>,
    rule: &DynamicMessage,
    out: &mut Vec<Binding>,
) -> Result<(), RuleError> {
    let name = method.full_name().to_owned();
    let string = |field: &str| {
        rule.get_field_by_name(field)
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    };
    let (http_method, path) = pattern(rule, &name)?;
    let template = PathTemplate::parse(&path).map_err(|source| RuleError::Template {
        rpc: name.clone(),
        source,
    })?;
    let path_fields = template
        .variables()
        .iter()
        .map(|v| resolve(&rpc.input, &v.field_path, &name))
        .collect::<Result<Vec<_>, _>>()?;
    let body = match string("body").as_str() {
        "" => BodyTarget::None,
        "*" => BodyTarget::Whole,
        field => BodyTarget::Field(top_level_field(&rpc.input, field, &name)?),
    };
    let response_body = match string("response_body").as_str() {
        "" => None,
        field => Some(top_level_field(&rpc.output, field, &name)?),
    };
    out.push(Binding {
        method: http_method,
        template,
        path_fields,
        body,
        response_body,
        rpc: Arc::clone(rpc),
    });
    Ok(())
}

/// The HTTP method and path template of a rule.
fn pattern(rule: &DynamicMessage, rpc: &str) -> Result<(Method, String), RuleError> {
    for (field, method) in [
        ("get", Method::GET),
        ("put", Method::PUT),
        ("post", Method::POST),
        ("delete", Method::DELETE),
        ("patch", Method::PATCH),
    ] {
        if rule.has_field_by_name(field)
            && let Some(path) = rule.get_field_by_name(field)
        {
            return Ok((method, path.as_str().unwrap_or_default().to_owned()));
        }
    }
    if rule.has_field_by_name("custom")
        && let Some(custom) = rule.get_field_by_name("custom")
        && let Some(custom) = custom.as_message()
    {
        let get = |f: &str| {
            custom
                .get_field_by_name(f)
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        };
        let kind = get("kind");
        let method = Method::from_bytes(kind.as_bytes()).map_err(|_| RuleError::Method {
            rpc: rpc.to_owned(),
            method: kind.clone(),
        })?;
        return Ok((method, get("path")));
    }
    Err(RuleError::NoPattern {
        rpc: rpc.to_owned(),
    })
}

/// Resolves a path variable's dotted field path, which must end at a
/// singular scalar field (a path segment carries one value).
pub fn resolve(
    message: &MessageDescriptor,
    path: &str,
    rpc: &str,
) -> Result<Vec<FieldDescriptor>, RuleError> {
    let err = |reason| RuleError::FieldPath {
        rpc: rpc.to_owned(),
        path: path.to_owned(),
        message: message.full_name().to_owned(),
        reason,
    };
    let mut fields = Vec::new();
    let mut current = message.clone();
    let mut parts = path.split('.').peekable();
    while let Some(part) = parts.next() {
        let field = current
            .get_field_by_name(part)
            .ok_or_else(|| err("no such field"))?;
        let last = parts.peek().is_none();
        match field.kind() {
            Kind::Message(inner) if !last => {
                if field.is_list() || field.is_map() {
                    return Err(err("cannot descend into a repeated field"));
                }
                current = inner;
            }
            _ if !last => return Err(err("only message fields have sub-fields")),
            Kind::Message(_) => return Err(err("must end at a scalar field")),
            _ if field.is_list() || field.is_map() => {
                return Err(err("must not be repeated"));
            }
            _ => {}
        }
        fields.push(field);
    }
    Ok(fields)
}

fn top_level_field(
    message: &MessageDescriptor,
    name: &str,
    rpc: &str,
) -> Result<FieldDescriptor, RuleError> {
    message
        .get_field_by_name(name)
        .ok_or_else(|| RuleError::FieldPath {
            rpc: rpc.to_owned(),
            path: name.to_owned(),
            message: message.full_name().to_owned(),
            reason: "no such top-level field",
        })
}
