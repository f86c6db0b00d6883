//! JSON Schemas (OpenAPI 3.1 dialect) of messages as the proto3 JSON mapping
//! writes them (<https://protobuf.dev/programming-guides/json/>), which is
//! what the transcoder writes and a form of what it reads.
//!
//! Each schema describes the canonical form: the form responses take and
//! requests may take. The parser accepts a little more (proto field names
//! beside the lowerCamelCase ones, integers as strings, enum numbers), which
//! a schema that also served as a response schema cannot say.

use std::collections::BTreeMap;

use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor};
use serde_json::{Map, Value, json};

use super::comments;

/// Where a value travels: the query string takes fewer forms than JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// A JSON body or response: wrappers may be `null`, enums may be numbers.
    Json,
    /// A path or query value: no `null`, enums by name only.
    Url,
}

/// The `components/schemas` being collected: one per message (and enum)
/// that an operation reaches, named by its full proto name.
#[derive(Default)]
pub struct Schemas {
    components: BTreeMap<String, Value>,
}

impl Schemas {
    /// The schema of a field's value: a list, a map or a single value, with
    /// the field's comment as its description.
    pub fn field(&mut self, field: &FieldDescriptor, place: Place) -> Value {
        let mut schema = if field.is_map() {
            let Kind::Message(entry) = field.kind() else {
                unreachable!("a map field's kind is its entry message")
            };
            let key = entry.map_entry_key_field();
            let mut map = json!({
                "type": "object",
                "additionalProperties": self.single(&entry.map_entry_value_field().kind(), place),
            });
            if let Some(names) = map_key_names(&key.kind()) {
                map["propertyNames"] = names;
            }
            map
        } else if field.is_list() {
            json!({"type": "array", "items": self.single(&field.kind(), place)})
        } else {
            self.single(&field.kind(), place)
        };
        if let Some(text) = comments::of(&field.parent_file(), field.path()) {
            describe(&mut schema, text);
        }
        schema
    }

    /// The schema of one value of `kind`.
    pub fn single(&mut self, kind: &Kind, place: Place) -> Value {
        match kind {
            Kind::Double => float("double", None),
            // The writer prints f32::MAX in its shortest form, 3.4028235e38,
            // a hair above f32::MAX read as a double (Schemathesis found it).
            Kind::Float => float("float", Some(3.402_823_5e38)),
            Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => json!({
                "type": "integer", "format": "int32",
                "minimum": i32::MIN, "maximum": i32::MAX,
            }),
            Kind::Uint32 | Kind::Fixed32 => json!({
                "type": "integer", "minimum": 0, "maximum": u32::MAX,
            }),
            // 64-bit integers are strings: JavaScript numbers cannot hold them.
            Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => json!({
                "type": "string", "format": "int64", "pattern": "^-?[0-9]+$",
            }),
            Kind::Uint64 | Kind::Fixed64 => json!({
                "type": "string", "format": "uint64", "pattern": "^[0-9]+$",
            }),
            Kind::Bool => json!({"type": "boolean"}),
            Kind::String => json!({"type": "string"}),
            Kind::Bytes => json!({
                "type": "string", "format": "byte", "contentEncoding": "base64",
            }),
            Kind::Enum(e) if e.full_name() == "google.protobuf.NullValue" => {
                json!({"type": "null"})
            }
            Kind::Enum(e) => match place {
                // The query string takes names (or known numbers) only.
                Place::Url => json!({"type": "string", "enum": enum_names(e)}),
                Place::Json => {
                    self.components
                        .entry(e.full_name().to_owned())
                        .or_insert_with(|| {
                            let mut schema = json!({"anyOf": [
                                {"type": "string", "enum": enum_names(e)},
                                {"type": "integer", "format": "int32"},
                            ]});
                            let text = comments::of(&e.parent_file(), e.path());
                            describe(
                                &mut schema,
                                format!(
                                    "{}By name. Enums are open: a number this API does not \
                                     know is kept, and written back as a number.",
                                    text.map(|t| format!("{t}\n\n")).unwrap_or_default()
                                ),
                            );
                            schema
                        });
                    reference(e.full_name())
                }
            },
            Kind::Message(m) => self.message(m, place),
        }
    }

    /// A message: the well-known types inline (they have JSON forms of their
    /// own), any other a `$ref` to its component.
    pub fn message(&mut self, message: &MessageDescriptor, place: Place) -> Value {
        if let Some(schema) = well_known(message.full_name(), place) {
            return schema;
        }
        let name = message.full_name();
        if !self.components.contains_key(name) {
            // Reserve the name first: a message may contain itself.
            self.components.insert(name.to_owned(), Value::Null);
            let schema = self.object(message);
            self.components.insert(name.to_owned(), schema);
        }
        reference(name)
    }

    /// Every component reached so far.
    pub fn into_components(self) -> Map<String, Value> {
        self.components.into_iter().collect()
    }

    /// A message's own schema: its fields by JSON name, nothing else (the
    /// parser refuses unknown fields), at most one field of each oneof
    /// (proto3 `optional` fields sit in synthetic oneofs of one: no rule).
    fn object(&mut self, message: &MessageDescriptor) -> Value {
        let mut properties = Map::new();
        for field in message.fields() {
            let mut schema = self.field(&field, Place::Json);
            if let Some(oneof) = field.containing_oneof().filter(|o| !o.is_synthetic()) {
                let members: Vec<String> =
                    oneof.fields().map(|f| f.json_name().to_owned()).collect();
                let note = format!(
                    "One of `{}`: set at most one of {}.",
                    oneof.name(),
                    members.join(", ")
                );
                describe(&mut schema, note);
            }
            properties.insert(field.json_name().to_owned(), schema);
        }
        let mut schema = json!({
            "type": "object",
            "properties": properties,
            "additionalProperties": false,
        });
        let exclusive: Vec<Value> = message
            .oneofs()
            .filter(|o| !o.is_synthetic())
            .map(|oneof| {
                let each: Vec<Value> = oneof
                    .fields()
                    .map(|f| json!({"required": [f.json_name()]}))
                    .collect();
                let mut choices = each.clone();
                choices.push(json!({"not": {"anyOf": each}}));
                json!({"oneOf": choices})
            })
            .collect();
        if !exclusive.is_empty() {
            schema["allOf"] = Value::Array(exclusive);
        }
        if let Some(text) = comments::of(&message.parent_file(), message.path()) {
            describe(&mut schema, text);
        }
        schema
    }
}

/// `#/components/schemas/<name>`.
fn reference(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// Adds `text` to a schema's description (after any it has).
fn describe(schema: &mut Value, text: impl Into<String>) {
    let text = text.into();
    let joined = match schema.get("description").and_then(Value::as_str) {
        Some(existing) => format!("{existing}\n\n{text}"),
        None => text,
    };
    schema["description"] = Value::String(joined);
}

/// A float: a JSON number, or one of the three strings proto3 JSON uses
/// for the values JSON numbers cannot hold.
fn float(format: &str, limit: Option<f64>) -> Value {
    let mut number = json!({"type": "number", "format": format});
    if let Some(limit) = limit {
        number["minimum"] = json!(-limit);
        number["maximum"] = json!(limit);
    }
    json!({"oneOf": [
        number,
        {"type": "string", "enum": ["NaN", "Infinity", "-Infinity"]},
    ]})
}

fn enum_names(e: &prost_reflect::EnumDescriptor) -> Vec<String> {
    e.values().map(|v| v.name().to_owned()).collect()
}

/// Map keys are JSON object keys, so strings; say which strings.
fn map_key_names(kind: &Kind) -> Option<Value> {
    match kind {
        Kind::String => None,
        Kind::Bool => Some(json!({"enum": ["true", "false"]})),
        Kind::Uint32 | Kind::Fixed32 | Kind::Uint64 | Kind::Fixed64 => {
            Some(json!({"pattern": "^[0-9]+$"}))
        }
        _ => Some(json!({"pattern": "^-?[0-9]+$"})),
    }
}

/// Whether `name` is a well-known type with a JSON form of its own.
pub fn is_well_known(name: &str) -> bool {
    well_known(name, Place::Json).is_some()
}

/// The JSON form of a well-known type, if `name` is one with a form of its
/// own. With `Place::Url`, `None` also for those a path or query value
/// cannot take (JSON-only forms: `BoolValue`, `Struct`, `Value`, ...).
pub fn well_known(name: &str, place: Place) -> Option<Value> {
    let wrapped = |scalar: Kind| {
        let value = Schemas::default().single(&scalar, place);
        match place {
            // `null` means "not set".
            Place::Json => json!({"anyOf": [value, {"type": "null"}]}),
            Place::Url => value,
        }
    };
    Some(match name {
        "google.protobuf.Timestamp" => json!({"type": "string", "format": "date-time"}),
        "google.protobuf.Duration" => json!({
            "type": "string",
            "pattern": "^-?[0-9]+(\\.[0-9]{1,9})?s$",
            "description": "Seconds with up to 9 fractional digits and an `s`, e.g. `1.5s`.",
        }),
        // No pattern: paths are not checked against any message, and
        // whatever the reader takes the writer gives back (Schemathesis
        // found a pattern too strict for what the server echoes).
        "google.protobuf.FieldMask" => json!({
            "type": "string",
            "description": "Comma-separated lowerCamelCase field paths, e.g. `title,author.name`.",
        }),
        "google.protobuf.DoubleValue" => wrapped(Kind::Double),
        "google.protobuf.FloatValue" => wrapped(Kind::Float),
        "google.protobuf.Int64Value" => wrapped(Kind::Int64),
        "google.protobuf.UInt64Value" => wrapped(Kind::Uint64),
        "google.protobuf.Int32Value" => wrapped(Kind::Int32),
        "google.protobuf.UInt32Value" => wrapped(Kind::Uint32),
        "google.protobuf.StringValue" => wrapped(Kind::String),
        "google.protobuf.BytesValue" => wrapped(Kind::Bytes),
        // JSON `true`/`false` only: a query string's "true" is no boolean.
        "google.protobuf.BoolValue" if place == Place::Json => wrapped(Kind::Bool),
        "google.protobuf.Struct" if place == Place::Json => json!({"type": "object"}),
        "google.protobuf.Value" if place == Place::Json => json!({}),
        "google.protobuf.ListValue" if place == Place::Json => json!({"type": "array"}),
        "google.protobuf.Empty" if place == Place::Json => {
            json!({"type": "object", "additionalProperties": false})
        }
        "google.protobuf.Any" if place == Place::Json => json!({
            "type": "object",
            "properties": {"@type": {"type": "string"}},
            "required": ["@type"],
        }),
        _ => return None,
    })
}
