//! proto3 JSON both ways (<https://protobuf.dev/programming-guides/json/>),
//! plus the HttpRule's binding of path variables and query parameters.
//!
//! Request JSON is decoded presence-aware (`{"name": ""}` sets `name`, `{}`
//! sets nothing) and strictly: unknown fields, wrong types, trailing data and
//! nesting deeper than serde_json's 128 levels are refused with a message that
//! says what and where. Responses follow the proto3 mapping: lowerCamelCase
//! names, default values omitted, `Timestamp` as RFC 3339 ending in `Z`.

use prost_reflect::{
    DeserializeOptions, DynamicMessage, FieldDescriptor, Kind, MessageDescriptor, ReflectMessage,
    SerializeOptions, Value,
};

use super::rules::{Binding, BodyTarget};

const DESERIALIZE: DeserializeOptions = DeserializeOptions::new().deny_unknown_fields(true);
const SERIALIZE: SerializeOptions = SerializeOptions::new();

/// Builds the RPC's request message from a REST request. The error is the
/// message of a 400.
pub fn request_message(
    binding: &Binding,
    bound: Vec<(&str, String)>,
    query: Option<&str>,
    body: &[u8],
) -> Result<DynamicMessage, String> {
    let input = &binding.rpc.input;
    let body = if body.trim_ascii().is_empty() {
        &[][..]
    } else {
        body
    };
    let mut message = match (&binding.body, body) {
        (BodyTarget::None, _) | (_, []) => DynamicMessage::new(input.clone()),
        (BodyTarget::Whole, body) => from_json(input.clone(), body)?,
        (BodyTarget::Field(field), body) => {
            let mut message = DynamicMessage::new(input.clone());
            message.set_field(field, field_from_json(input, field, body)?);
            message
        }
    };

    // The query string fills what neither the path nor the body binds; with
    // `body: "*"` the body holds every field, so there is nothing left to fill.
    if binding.body != BodyTarget::Whole
        && let Some(query) = query
    {
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            let fields = query_field(input, &key, &binding.body)?;
            set_path(&mut message, &fields, &value, &key)?;
        }
    }
    // Path variables win over anything the body said about the same field.
    for ((path, value), fields) in bound.into_iter().zip(&binding.path_fields) {
        set_path(&mut message, fields, &value, path)?;
    }
    Ok(message)
}

/// The JSON of a response message (or of its `response_body` field).
pub fn response_json(binding: &Binding, message: &DynamicMessage) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(128);
    let mut serializer = serde_json::Serializer::new(&mut out);
    let result = match &binding.response_body {
        None => message.serialize_with_options(&mut serializer, &SERIALIZE),
        Some(field) => match message.get_field(field).as_ref() {
            Value::Message(inner) if !field.is_list() && !field.is_map() => {
                inner.serialize_with_options(&mut serializer, &SERIALIZE)
            }
            _ => {
                // A scalar or repeated field: serialize a message holding only
                // it, defaults included, and lift the field's value out.
                let mut only = DynamicMessage::new(message.descriptor());
                only.set_field(field, message.get_field(field).into_owned());
                let options = SerializeOptions::new().skip_default_fields(false);
                let value = only
                    .serialize_with_options(serde_json::value::Serializer, &options)
                    .map_err(|e| e.to_string())?;
                let lifted = value.get(field.json_name()).cloned().unwrap_or_default();
                serde::Serialize::serialize(&lifted, &mut serializer)
            }
        },
    };
    result.map_err(|e| format!("cannot write the response as JSON: {e}"))?;
    Ok(out)
}

fn from_json(descriptor: MessageDescriptor, body: &[u8]) -> Result<DynamicMessage, String> {
    let mut de = serde_json::Deserializer::from_slice(body);
    DynamicMessage::deserialize_with_options(descriptor.clone(), &mut de, &DESERIALIZE)
        .and_then(|m| de.end().map(|()| m))
        .map_err(|e| {
            format!(
                "Invalid JSON body: {}",
                in_client_terms(&descriptor, e.to_string())
            )
        })
}

/// A proto3 `optional` field sits in a synthetic oneof named `_<field>`, so
/// prost-reflect reports a repeated key as "multiple fields provided for
/// oneof '_name'": a name the client never wrote. Say "duplicate field".
fn in_client_terms(descriptor: &MessageDescriptor, message: String) -> String {
    const PREFIX: &str = "multiple fields provided for oneof '";
    let Some(rest) = message.strip_prefix(PREFIX) else {
        return message;
    };
    let Some((oneof, position)) = rest.split_once('\'') else {
        return message;
    };
    let synthetic = descriptor
        .oneofs()
        .find(|o| o.name() == oneof && o.is_synthetic());
    match synthetic.and_then(|o| o.fields().next()) {
        Some(field) => format!("duplicate field '{}'{position}", field.json_name()),
        None => message,
    }
}

/// `body: "field"`: the body is that field's JSON value.
fn field_from_json(
    input: &MessageDescriptor,
    field: &FieldDescriptor,
    body: &[u8],
) -> Result<Value, String> {
    if let Kind::Message(inner) = field.kind()
        && !field.is_list()
        && !field.is_map()
    {
        return from_json(inner, body).map(Value::Message);
    }
    // Wrap the value as `{"<field>": <body>}` and decode the request type, so
    // scalars, lists and maps follow exactly the same JSON rules.
    let mut wrapped = Vec::with_capacity(body.len() + field.name().len() + 6);
    wrapped.extend_from_slice(b"{\"");
    wrapped.extend_from_slice(field.name().as_bytes());
    wrapped.extend_from_slice(b"\":");
    wrapped.extend_from_slice(body);
    wrapped.push(b'}');
    let mut message = from_json(input.clone(), &wrapped)?;
    Ok(message
        .take_field(field)
        .unwrap_or_else(|| Value::default_value_for_field(field)))
}

/// Resolves a query key (proto or JSON field names, dotted for sub-fields).
fn query_field(
    input: &MessageDescriptor,
    key: &str,
    body: &BodyTarget,
) -> Result<Vec<FieldDescriptor>, String> {
    let unknown = || {
        format!(
            "Unknown query parameter '{key}': {} has no such field",
            input.full_name()
        )
    };
    let mut fields = Vec::new();
    let mut current = input.clone();
    let mut parts = key.split('.').peekable();
    while let Some(part) = parts.next() {
        let field = current
            .get_field_by_name(part)
            .or_else(|| current.get_field_by_json_name(part))
            .ok_or_else(unknown)?;
        match (field.kind(), parts.peek()) {
            (Kind::Message(inner), Some(_)) if !field.is_list() && !field.is_map() => {
                current = inner;
            }
            (_, Some(_)) => return Err(unknown()),
            _ => {}
        }
        fields.push(field);
    }
    if let (BodyTarget::Field(body_field), Some(first)) = (body, fields.first())
        && body_field == first
    {
        return Err(format!(
            "Query parameter '{key}' sets a field that the body carries"
        ));
    }
    Ok(fields)
}

/// Sets (or, for a repeated field, appends) `raw` at the field path.
fn set_path(
    message: &mut DynamicMessage,
    fields: &[FieldDescriptor],
    raw: &str,
    name: &str,
) -> Result<(), String> {
    let (leaf, parents) = fields.split_last().expect("a field path is never empty");
    let mut current = message;
    for field in parents {
        current = match current.get_field_mut(field) {
            Value::Message(inner) => inner,
            _ => return Err(format!("'{name}' does not name a scalar field")),
        };
    }
    let value = scalar(leaf, raw).map_err(|why| format!("Invalid value for '{name}': {why}"))?;
    if leaf.is_list() {
        if let Value::List(list) = current.get_field_mut(leaf) {
            list.push(value);
        }
    } else if leaf.is_map() {
        return Err(format!("'{name}' is a map and cannot be set from the URL"));
    } else {
        current.set_field(leaf, value);
    }
    Ok(())
}

/// Parses a path or query value as the field's type.
fn scalar(field: &FieldDescriptor, raw: &str) -> Result<Value, String> {
    fn num<T: std::str::FromStr>(raw: &str, what: &str) -> Result<T, String> {
        raw.parse()
            .map_err(|_| format!("'{raw}' is not a valid {what}"))
    }
    Ok(match field.kind() {
        Kind::String => Value::String(raw.to_owned()),
        Kind::Bool => match raw {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return Err(format!("'{raw}' is not true or false")),
        },
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => Value::I32(num(raw, "int32")?),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => Value::I64(num(raw, "int64")?),
        Kind::Uint32 | Kind::Fixed32 => Value::U32(num(raw, "uint32")?),
        Kind::Uint64 | Kind::Fixed64 => Value::U64(num(raw, "uint64")?),
        Kind::Float => Value::F32(num(raw, "float")?),
        Kind::Double => Value::F64(num(raw, "double")?),
        Kind::Bytes => {
            use base64::Engine as _;
            let engine = if raw.contains(['-', '_']) {
                &base64::engine::general_purpose::URL_SAFE
            } else {
                &base64::engine::general_purpose::STANDARD
            };
            Value::Bytes(
                engine
                    .decode(raw)
                    .map_err(|_| format!("'{raw}' is not base64"))?
                    .into(),
            )
        }
        Kind::Enum(e) => match e.get_value_by_name(raw) {
            Some(v) => Value::EnumNumber(v.number()),
            None => Value::EnumNumber(
                raw.parse()
                    .ok()
                    .filter(|n| e.get_value(*n).is_some())
                    .ok_or_else(|| format!("'{raw}' is not a value of {}", e.full_name()))?,
            ),
        },
        // Well-known types with a string JSON form (Timestamp, Duration,
        // FieldMask, wrappers) parse from their JSON string.
        Kind::Message(m) => Value::Message(
            DynamicMessage::deserialize_with_options(
                m,
                serde_json::Value::String(raw.to_owned()),
                &DESERIALIZE,
            )
            .map_err(|e| e.to_string())?,
        ),
    })
}
