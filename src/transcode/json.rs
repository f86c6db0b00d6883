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

use serde::ser::{Error as _, Serialize, SerializeMap, SerializeSeq, Serializer};

use super::rules::{Binding, BodyTarget};
use crate::rfc3339;

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
    let mut out = Vec::with_capacity(128);
    let mut serializer = serde_json::Serializer::new(&mut out);
    let result = match &binding.response_body {
        None => Proto3(message).serialize(&mut serializer),
        Some(field) => match message.get_field(field).as_ref() {
            Value::Message(inner) if !field.is_list() && !field.is_map() => {
                Proto3(inner).serialize(&mut serializer)
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

/// A message in the proto3 JSON mapping, as prost-reflect writes it
/// (lowerCamelCase names, defaults omitted, 64-bit integers as strings), but
/// with `google.protobuf.Timestamp` written directly: prost-reflect formats
/// it through a re-encode and a general date library, ~6.5k instructions a
/// response (`bench/profile`). Other well-known types go to prost-reflect.
struct Proto3<'a>(&'a DynamicMessage);

impl Serialize for Proto3<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let message = self.0;
        let descriptor = message.descriptor();
        match descriptor.full_name() {
            "google.protobuf.Timestamp" => return timestamp(message, serializer),
            // prost-reflect writes a wrapped NaN or infinity as `null` (which
            // reads back as "not set"); proto3 JSON writes "NaN", "Infinity",
            // "-Infinity", as for a plain float.
            "google.protobuf.DoubleValue" | "google.protobuf.FloatValue" => {
                if let Some(value) = descriptor.get_field(1) {
                    return Single(&value.kind(), &message.get_field(&value)).serialize(serializer);
                }
            }
            name if name.starts_with("google.protobuf.") => {
                return message.serialize_with_options(serializer, &SERIALIZE);
            }
            _ => {}
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

/// A `google.protobuf.Timestamp` message as its RFC 3339 string.
fn timestamp<S: Serializer>(message: &DynamicMessage, serializer: S) -> Result<S::Ok, S::Error> {
    let seconds = message
        .get_field_by_number(1)
        .and_then(|v| v.as_i64())
        .unwrap_or_default();
    let nanos = message
        .get_field_by_number(2)
        .and_then(|v| v.as_i32())
        .unwrap_or_default();
    rfc3339::serialize_proto3(seconds, nanos, serializer)
}

/// One field's value: a list, a map or a single value.
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
                let mut map = serializer.serialize_map(Some(entries.len()))?;
                for (key, item) in entries {
                    let key = match key {
                        prost_reflect::MapKey::Bool(b) => b.to_string(),
                        prost_reflect::MapKey::I32(n) => n.to_string(),
                        prost_reflect::MapKey::I64(n) => n.to_string(),
                        prost_reflect::MapKey::U32(n) => n.to_string(),
                        prost_reflect::MapKey::U64(n) => n.to_string(),
                        prost_reflect::MapKey::String(s) => s.clone(),
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
        fn float<S: Serializer>(serializer: S, x: f64) -> Result<S::Ok, S::Error> {
            match x {
                x if x.is_nan() => serializer.serialize_str("NaN"),
                x if x == f64::INFINITY => serializer.serialize_str("Infinity"),
                x if x == f64::NEG_INFINITY => serializer.serialize_str("-Infinity"),
                x => serializer.serialize_f64(x),
            }
        }
        match self.1 {
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::I32(n) => serializer.serialize_i32(*n),
            Value::U32(n) => serializer.serialize_u32(*n),
            // 64-bit integers are strings in proto3 JSON (JavaScript numbers
            // cannot hold them).
            Value::I64(n) => serializer.collect_str(n),
            Value::U64(n) => serializer.collect_str(n),
            Value::F32(x) => match *x {
                x if x.is_finite() => serializer.serialize_f32(x),
                x => float(serializer, f64::from(x)),
            },
            Value::F64(x) => float(serializer, *x),
            Value::String(text) => serializer.serialize_str(text),
            Value::Bytes(bytes) => {
                use base64::Engine as _;
                serializer.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
            }
            Value::EnumNumber(n) => match self.0 {
                Kind::Enum(e) if e.full_name() == "google.protobuf.NullValue" => {
                    serializer.serialize_unit()
                }
                Kind::Enum(e) => match e.get_value(*n) {
                    Some(v) => serializer.serialize_str(v.name()),
                    None => serializer.serialize_i32(*n),
                },
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

    /// Our writer and prost-reflect's agree on a message with every kind of
    /// field (the test-only library proto has strings, int32/64, bools,
    /// enums, nested messages and repeated fields) and on Timestamps.
    #[test]
    fn proto3_writer_matches_prost_reflect() {
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
            "wrapped_double",
            wrapper("google.protobuf.DoubleValue", Value::F64(f64::NAN)),
        );
        message.set_field_by_name(
            "wrapped_float",
            wrapper("google.protobuf.FloatValue", Value::F32(f32::NEG_INFINITY)),
        );
        assert_eq!(
            serde_json::to_string(&Proto3(&message)).unwrap(),
            r#"{"wrappedDouble":"NaN","wrappedFloat":"-Infinity"}"#
        );
        message.set_field_by_name(
            "wrapped_double",
            wrapper("google.protobuf.DoubleValue", Value::F64(1.5)),
        );
        message.clear_field_by_name("wrapped_float");
        assert_eq!(
            serde_json::to_string(&Proto3(&message)).unwrap(),
            r#"{"wrappedDouble":1.5}"#
        );
    }
}
