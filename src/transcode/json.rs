//! proto3 JSON both ways (<https://protobuf.dev/programming-guides/json/>),
//! plus the HttpRule's binding of path variables and query parameters.
//!
//! Request JSON is decoded presence-aware (`{"name": ""}` sets `name`, `{}`
//! sets nothing) and strictly: unknown fields, wrong types, trailing data and
//! nesting deeper than serde_json's 128 levels are refused with a message that
//! says what and where. Responses follow the proto3 mapping: lowerCamelCase
//! names, default values omitted, `Timestamp` as RFC 3339 ending in `Z`,
//! map entries in key order; every scalar and well-known type is written by
//! [`crate::pb::json`], as on the typed road, so both roads write the same
//! bytes (`tests/json_contract.rs`).

use prost_reflect::{
    DeserializeOptions, DynamicMessage, FieldDescriptor, Kind, MapKey, MessageDescriptor,
    ReflectMessage, Value,
};

use serde::ser::{Error as _, Serialize, SerializeMap, SerializeSeq, Serializer};

use super::rules::{Binding, BodyTarget};
use crate::pb::json::{self as kinds, Kind as _};

const DESERIALIZE: DeserializeOptions = DeserializeOptions::new().deny_unknown_fields(true);

/// Builds the RPC's request message from a REST request. The error is the
/// message of a 400.
pub fn request_message(
    binding: &Binding,
    bound: Vec<(&str, String)>,
    query: Option<&str>,
    body: &[u8],
) -> Result<DynamicMessage, String> {
    let input = &binding.rpc.input;
    let body = if is_blank(body) { &[][..] } else { body };
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

/// A body of nothing but white space counts as no body at all (so it is
/// "Missing request body", not a JSON syntax error), on both REST roads.
pub fn is_blank(body: &[u8]) -> bool {
    body.trim_ascii().is_empty()
}

/// The JSON of a response message (or of its `response_body` field).
pub fn response_json(binding: &Binding, message: &DynamicMessage) -> Result<Vec<u8>, String> {
    match &binding.response_body {
        None => message_json(message),
        // The field's value alone, written even when it is the default.
        Some(field) => to_json(&FieldValue(field, &message.get_field(field))),
    }
}

/// A whole message as JSON (Connect's JSON codec, and REST's answers).
pub fn message_json(message: &DynamicMessage) -> Result<Vec<u8>, String> {
    to_json(&Proto3(message))
}

/// A whole message from a JSON body, as REST reads a `body: "*"` body: a
/// blank body is the empty message (Connect's JSON codec).
pub fn message_from_json(
    descriptor: &MessageDescriptor,
    body: &[u8],
) -> Result<DynamicMessage, String> {
    if is_blank(body) {
        return Ok(DynamicMessage::new(descriptor.clone()));
    }
    from_json(descriptor.clone(), body)
}

fn to_json(value: &impl Serialize) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(128);
    value
        .serialize(&mut serde_json::Serializer::new(&mut out))
        .map_err(|e| format!("cannot write the response as JSON: {e}"))?;
    Ok(out)
}

fn from_json(descriptor: MessageDescriptor, body: &[u8]) -> Result<DynamicMessage, String> {
    let mut de = serde_json::Deserializer::from_slice(body);
    DynamicMessage::deserialize_with_options(descriptor.clone(), &mut de, &DESERIALIZE)
        .and_then(|m| de.end().map(|()| m))
        .map(|mut m| {
            null_lists_are_empty(&mut m);
            m
        })
        .map_err(|e| {
            format!(
                "Invalid JSON body: {}",
                in_client_terms(&descriptor, e.to_string())
            )
        })
}

/// prost-reflect reads `null` for a repeated `google.protobuf.Value` (or
/// `NullValue`) field as a single null element, not as a list; the mapping
/// says `null` is the field's default, the empty list (the typed road reads
/// it so). Clears such fields, at any depth.
fn null_lists_are_empty(message: &mut DynamicMessage) {
    let mut not_lists = Vec::new();
    for field in message.descriptor().fields() {
        if !message.has_field(&field) {
            continue;
        }
        match message.get_field_mut(&field) {
            Value::List(items) => items
                .iter_mut()
                .filter_map(Value::as_message_mut)
                .for_each(null_lists_are_empty),
            Value::Map(entries) => entries
                .values_mut()
                .filter_map(Value::as_message_mut)
                .for_each(null_lists_are_empty),
            _ if field.is_list() => not_lists.push(field),
            Value::Message(inner) => null_lists_are_empty(inner),
            _ => {}
        }
    }
    for field in not_lists {
        message.clear_field(&field);
    }
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

/// A float in a URL, as in a JSON string: a finite decimal number, or one
/// of the three names of the non-finite values. (Rust's own parser also
/// takes `inf` and turns `1e999` into infinity; neither is proto3 JSON.)
fn float_text(raw: &str) -> Option<f64> {
    match raw {
        "NaN" => Some(f64::NAN),
        "Infinity" => Some(f64::INFINITY),
        "-Infinity" => Some(f64::NEG_INFINITY),
        _ => raw.parse::<f64>().ok().filter(|v| v.is_finite()),
    }
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
        Kind::Float => Value::F32(
            float_text(raw)
                .and_then(|v| {
                    let fits = !v.is_finite() || v.abs() <= f64::from(f32::MAX);
                    fits.then_some(v as f32)
                })
                .ok_or_else(|| format!("'{raw}' is not a float within its range"))?,
        ),
        Kind::Double => Value::F64(
            float_text(raw).ok_or_else(|| format!("'{raw}' is not a double within its range"))?,
        ),
        Kind::Bytes => Value::Bytes(
            crate::pb::json::base64_decode(raw.as_bytes())
                .map_err(|_| format!("'{raw}' is not base64"))?
                .into(),
        ),
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

/// A message in the proto3 JSON mapping: lowerCamelCase names in field
/// number order, defaults omitted, scalars and well-known types written by
/// [`crate::pb::json`] as the typed road writes them. (prost-reflect's own
/// writer formats a Timestamp through a re-encode and a general date library,
/// ~6.5k instructions a response, `bench/profile`, and writes maps in hash
/// order.) Only `google.protobuf` types without a JSON form of their own
/// (`Any`, `Api`, …) go to prost-reflect, as on the typed road.
struct Proto3<'a>(&'a DynamicMessage);

impl Serialize for Proto3<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let message = self.0;
        let descriptor = message.descriptor();
        if let Some(wkt) = descriptor.full_name().strip_prefix("google.protobuf.") {
            return well_known(wkt, message, serializer);
        }
        let mut map = serializer.serialize_map(None)?;
        for (field, value) in message.fields() {
            if !field.supports_presence() && value.is_default_for_field(&field) {
                continue;
            }
            map.serialize_entry(field.json_name(), &FieldValue(&field, value))?;
        }
        map.end()
    }
}

/// A `google.protobuf` message, by the typed road's writer for its kind.
fn well_known<S: Serializer>(
    name: &str,
    message: &DynamicMessage,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    fn typed<T: prost::Message + Default, E: serde::ser::Error>(
        message: &DynamicMessage,
    ) -> Result<T, E> {
        message.transcode_to().map_err(E::custom)
    }
    match name {
        // Read in place: the one well-known type every Greet answer has.
        "Timestamp" => {
            let field = |number| message.get_field_by_number(number);
            let timestamp = prost_types::Timestamp {
                seconds: field(1).and_then(|v| v.as_i64()).unwrap_or_default(),
                nanos: field(2).and_then(|v| v.as_i32()).unwrap_or_default(),
            };
            kinds::Timestamp::write(&timestamp, serializer)
        }
        "Duration" => kinds::Duration::write(&typed(message)?, serializer),
        "FieldMask" => kinds::FieldMask::write(&typed(message)?, serializer),
        "Struct" => kinds::Struct::write(&typed(message)?, serializer),
        "Value" => kinds::Value::write(&typed(message)?, serializer),
        "ListValue" => kinds::ListValue::write(&typed(message)?, serializer),
        "Empty" => kinds::Empty::write(&(), serializer),
        // A wrapper is its `value` field (number 1), default or not.
        "DoubleValue" | "FloatValue" | "Int64Value" | "UInt64Value" | "Int32Value"
        | "UInt32Value" | "BoolValue" | "StringValue" | "BytesValue" => {
            match message.descriptor().get_field(1) {
                Some(field) => {
                    Single(&field.kind(), &message.get_field(&field)).serialize(serializer)
                }
                None => Err(S::Error::custom(format_args!(
                    "google.protobuf.{name} has no value"
                ))),
            }
        }
        _ => message.serialize(serializer),
    }
}

/// One field's value: a list, a map (in key order) or a single value.
struct FieldValue<'a>(&'a FieldDescriptor, &'a Value);

impl Serialize for FieldValue<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let FieldValue(field, value) = *self;
        match value {
            Value::List(items) => {
                let kind = field.kind();
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&Single(&kind, item))?;
                }
                seq.end()
            }
            Value::Map(entries) => {
                let value_kind = match field.kind() {
                    Kind::Message(entry) => entry.map_entry_value_field().kind(),
                    other => other,
                };
                let mut sorted: Vec<(&MapKey, &Value)> = entries.iter().collect();
                sorted.sort_unstable_by(|a, b| a.0.cmp(b.0));
                let mut map = serializer.serialize_map(Some(sorted.len()))?;
                for (key, item) in sorted {
                    let key = match key {
                        MapKey::Bool(b) => b.to_string(),
                        MapKey::I32(n) => n.to_string(),
                        MapKey::I64(n) => n.to_string(),
                        MapKey::U32(n) => n.to_string(),
                        MapKey::U64(n) => n.to_string(),
                        MapKey::String(s) => s.clone(),
                    };
                    map.serialize_entry(&key, &Single(&value_kind, item))?;
                }
                map.end()
            }
            single => Single(&field.kind(), single).serialize(serializer),
        }
    }
}

/// One value of a known kind.
struct Single<'a>(&'a Kind, &'a Value);

impl Serialize for Single<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.1 {
            Value::Bool(b) => kinds::Bool::write(b, serializer),
            Value::I32(n) => kinds::Int32::write(n, serializer),
            Value::U32(n) => kinds::Uint32::write(n, serializer),
            Value::I64(n) => kinds::Int64::write(n, serializer),
            Value::U64(n) => kinds::Uint64::write(n, serializer),
            Value::F32(x) => kinds::Float::write(x, serializer),
            Value::F64(x) => kinds::Double::write(x, serializer),
            Value::String(text) => serializer.serialize_str(text),
            Value::Bytes(bytes) => kinds::write_bytes(bytes, serializer),
            Value::EnumNumber(n) => match self.0 {
                Kind::Enum(e) if e.full_name() == "google.protobuf.NullValue" => {
                    kinds::Null::write(n, serializer)
                }
                Kind::Enum(e) => {
                    kinds::write_enum(*n, e.get_value(*n).as_ref().map(|v| v.name()), serializer)
                }
                _ => serializer.serialize_i32(*n),
            },
            Value::Message(inner) => Proto3(inner).serialize(serializer),
            Value::List(_) | Value::Map(_) => Err(S::Error::custom(
                "a list or map cannot nest directly in a list or map",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost_reflect::DescriptorPool;

    /// Our writer and prost-reflect's agree on a GreetResponse (a string
    /// with escapes, and a Timestamp across its range). Every other kind is
    /// checked against the typed road's writer in `tests/json_contract.rs`.
    #[test]
    fn proto3_writer_matches_prost_reflect_on_greet_responses() {
        let pool = DescriptorPool::decode(crate::pb::FILE_DESCRIPTOR_SET).unwrap();
        let response = pool.get_message_by_name("greet.v1.GreetResponse").unwrap();
        for (seconds, nanos) in [
            (0i64, 0i32),
            (1_795_757_866, 121_465_000),
            (-1, 5),
            (253_402_300_799, 999_999_999),
        ] {
            let mut message = DynamicMessage::new(response.clone());
            message.set_field_by_name("greeting", Value::String("Hola, \"Alice\"!\n".into()));
            let mut ts = DynamicMessage::new(
                pool.get_message_by_name("google.protobuf.Timestamp")
                    .unwrap(),
            );
            ts.set_field_by_number(1, Value::I64(seconds));
            ts.set_field_by_number(2, Value::I32(nanos));
            message.set_field_by_name("timestamp", Value::Message(ts));
            let ours = serde_json::to_string(&Proto3(&message)).unwrap();
            let theirs = serde_json::to_string(&message).unwrap();
            assert_eq!(ours, theirs);
        }
        let empty = DynamicMessage::new(response);
        assert_eq!(serde_json::to_string(&Proto3(&empty)).unwrap(), "{}");
    }

    /// Wrapped floats that JSON numbers cannot hold are written as proto3
    /// JSON says, not as `null` (found probing the OpenAPI test service).
    #[test]
    fn wrapped_nan_and_infinities_are_strings() {
        let pool = DescriptorPool::decode(
            include_bytes!(concat!(env!("OUT_DIR"), "/kinds_descriptor.bin")).as_slice(),
        )
        .unwrap();
        let kinds = pool.get_message_by_name("kinds.v1.Kinds").unwrap();
        let wrapper = |name: &str, value: Value| {
            let mut wrapper = DynamicMessage::new(pool.get_message_by_name(name).unwrap());
            wrapper.set_field_by_number(1, value);
            Value::Message(wrapper)
        };
        let mut message = DynamicMessage::new(kinds);
        message.set_field_by_name(
            "double_value",
            wrapper("google.protobuf.DoubleValue", Value::F64(f64::NAN)),
        );
        message.set_field_by_name(
            "float_value",
            wrapper("google.protobuf.FloatValue", Value::F32(f32::NEG_INFINITY)),
        );
        assert_eq!(
            serde_json::to_string(&Proto3(&message)).unwrap(),
            r#"{"floatValue":"-Infinity","doubleValue":"NaN"}"#
        );
        message.set_field_by_name(
            "double_value",
            wrapper("google.protobuf.DoubleValue", Value::F64(1.5)),
        );
        message.clear_field_by_name("float_value");
        assert_eq!(
            serde_json::to_string(&Proto3(&message)).unwrap(),
            r#"{"doubleValue":1.5}"#
        );
    }
}
