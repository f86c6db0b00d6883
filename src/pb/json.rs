//! The proto3 JSON mapping (<https://protobuf.dev/programming-guides/json/>)
//! for the Rust types generated from our protos: one small marker type per
//! field kind, each saying how a value of that kind is written and read.
//!
//! `build.rs` generates a `Serialize` and `Deserialize` impl per message that
//! only lists fields and picks their kinds; everything about a kind lives
//! here, once. The dynamic road's writer ([`crate::transcode::json`]) writes
//! its scalars and well-known types through these same functions, so both
//! REST roads write the same bytes. Reading mirrors prost-reflect, the
//! dynamic road's reader, kind by kind (its visitors are the reference), and
//! the well-known types with a JSON form of their own are read by
//! prost-reflect itself. `tests/json_contract.rs` checks all of it over a
//! message with every kind of field.
//!
//! Where a body is one the generated readers refuse but prost-reflect takes
//! (a key given twice, base64 with stray trailing bits, an `Any` of a type
//! outside the well-known ones), the typed road hands it to the dynamic road,
//! which answers: refusing is always safe, reading differently never is.

use std::{borrow::Cow, collections::BTreeMap, fmt, marker::PhantomData};

use base64::{
    Engine as _,
    engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig},
};
use prost_reflect::{DynamicMessage, ReflectMessage};
use serde::{
    Deserializer, Serialize, Serializer,
    de::{self, DeserializeSeed, Error as _, MapAccess, SeqAccess, Visitor},
    ser::{Error as _, SerializeMap, SerializeSeq},
};

/// How one proto field kind is written and read.
pub trait Kind {
    /// The Rust type prost stores a value of this kind in.
    type Value;

    /// Writes one value (never called for an absent field).
    fn write<S: Serializer>(value: &Self::Value, serializer: S) -> Result<S::Ok, S::Error>;

    /// Reads one value that is not `null`, or, inside a list or map, any
    /// value.
    fn read<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self::Value, D::Error>;

    /// What `null` sets a field of this kind to: nothing (the field keeps its
    /// default), except for `google.protobuf.Value` and `NullValue`, whose
    /// `null` is a value.
    fn null() -> Option<Self::Value> {
        None
    }
}

/// A kind that can be a map key: JSON object keys are strings.
pub trait KeyKind: Kind {
    fn write_key(value: &Self::Value) -> Cow<'_, str>;
    fn read_key(text: &str) -> Result<Self::Value, String>;
}

/// A generated enum, known by its proto value names.
pub trait ProtoEnum {
    /// The name of a known number.
    fn name(number: i32) -> Option<&'static str>;
    /// The number of a known name.
    fn number(name: &str) -> Option<i32>;
}

/// Whether a field without presence differs from its default, and so is
/// written (proto3 omits defaults; `-0.0` counts as `0`, as in prost).
pub fn is_set<T: Default + PartialEq>(value: &T) -> bool {
    *value != T::default()
}

/// A value written as kind `K`.
pub struct Ser<'a, K: Kind>(&'a K::Value, PhantomData<K>);

impl<'a, K: Kind> Ser<'a, K> {
    pub fn new(value: &'a K::Value) -> Self {
        Ser(value, PhantomData)
    }
}

impl<K: Kind> Serialize for Ser<'_, K> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        K::write(self.0, serializer)
    }
}

/// Reads a value of kind `K` (lists and maps: their elements).
struct Element<K>(PhantomData<K>);

impl<'de, K: Kind> DeserializeSeed<'de> for Element<K> {
    type Value = K::Value;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<K::Value, D::Error> {
        K::read(deserializer)
    }
}

/// Reads a field of kind `K`: `null` is [`Kind::null`].
struct Nullable<K>(PhantomData<K>);

impl<'de, K: Kind> DeserializeSeed<'de> for Nullable<K> {
    type Value = Option<K::Value>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de, K: Kind> Visitor<'de> for Nullable<K> {
    type Value = Option<K::Value>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a value or null")
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(K::null())
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(K::null())
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        K::read(deserializer).map(Some)
    }
}

/// One field being read: a key given twice is refused (the typed road then
/// leaves the body to the dynamic road).
pub struct Slot<K: Kind> {
    seen: bool,
    value: Option<K::Value>,
}

impl<K: Kind> Default for Slot<K> {
    fn default() -> Self {
        Slot {
            seen: false,
            value: None,
        }
    }
}

impl<K: Kind> Slot<K> {
    /// Reads the field's value from `map`, whose key named it.
    pub fn read<'de, A: MapAccess<'de>>(
        &mut self,
        map: &mut A,
        name: &'static str,
    ) -> Result<(), A::Error> {
        if std::mem::replace(&mut self.seen, true) {
            return Err(A::Error::duplicate_field(name));
        }
        self.value = map.next_value_seed(Nullable::<K>(PhantomData))?;
        Ok(())
    }

    /// The value read, if any (`null` and absence alike are `None`).
    pub fn into_value(self) -> Option<K::Value> {
        self.value
    }
}

/// Reads one member of a oneof into the oneof's slot, as prost-reflect does:
/// `null` sets nothing, a second member with a value is an error.
pub fn read_oneof<'de, A, K, O>(
    map: &mut A,
    oneof: &mut Option<O>,
    name: &'static str,
    member: impl FnOnce(K::Value) -> O,
) -> Result<(), A::Error>
where
    A: MapAccess<'de>,
    K: Kind,
{
    if let Some(value) = map.next_value_seed(Nullable::<K>(PhantomData))? {
        if oneof.is_some() {
            return Err(A::Error::custom(format_args!(
                "multiple fields provided for oneof '{name}'"
            )));
        }
        *oneof = Some(member(value));
    }
    Ok(())
}

/// A JSON key as the index of a field name in `names` (lowerCamelCase JSON
/// names and original proto names both count); any other key is refused.
pub struct FieldName(pub &'static [&'static str]);

impl<'de> DeserializeSeed<'de> for FieldName {
    type Value = usize;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<usize, D::Error> {
        deserializer.deserialize_identifier(self)
    }
}

impl Visitor<'_> for FieldName {
    type Value = usize;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }
    fn visit_str<E: de::Error>(self, key: &str) -> Result<usize, E> {
        self.0
            .iter()
            .position(|name| *name == key)
            .ok_or_else(|| E::unknown_field(key, self.0))
    }
}

// ---- scalars ------------------------------------------------------------

/// `double`: a number, or "NaN", "Infinity", "-Infinity".
pub struct Double;
/// `float`: as `double`, refusing numbers outside f32's range.
pub struct Float;
/// `int32`, `sint32`, `sfixed32`.
pub struct Int32;
/// `uint32`, `fixed32`.
pub struct Uint32;
/// `int64`, `sint64`, `sfixed64`: written as a string.
pub struct Int64;
/// `uint64`, `fixed64`: written as a string.
pub struct Uint64;
/// `bool`.
pub struct Bool;
/// `string`.
pub struct Str;
/// `bytes`: standard base64 with padding out; standard or URL-safe, padded
/// or not, in.
pub struct Bytes;

/// A float that JSON numbers cannot hold is one of the three strings.
fn write_float<S: Serializer>(value: f64, serializer: S) -> Result<S::Ok, S::Error> {
    if value.is_nan() {
        serializer.serialize_str("NaN")
    } else if value == f64::INFINITY {
        serializer.serialize_str("Infinity")
    } else {
        serializer.serialize_str("-Infinity")
    }
}

/// Float kinds: a JSON number, or a string: Rust's own float syntax (as
/// prost-reflect reads it) or one of the three names of the non-finite
/// values.
macro_rules! float_kind {
    ($kind:ident, $ty:ty, $expecting:literal, $serialize:ident, $from_f64:expr) => {
        impl Kind for $kind {
            type Value = $ty;
            fn write<S: Serializer>(value: &$ty, serializer: S) -> Result<S::Ok, S::Error> {
                if value.is_finite() {
                    serializer.$serialize(*value)
                } else {
                    write_float(f64::from(*value), serializer)
                }
            }
            fn read<'de, D: Deserializer<'de>>(deserializer: D) -> Result<$ty, D::Error> {
                struct FloatVisitor;
                impl Visitor<'_> for FloatVisitor {
                    type Value = $ty;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_f64<E: de::Error>(self, v: f64) -> Result<$ty, E> {
                        let from_f64: fn(f64) -> Option<$ty> = $from_f64;
                        from_f64(v).ok_or_else(|| E::custom("float value out of range"))
                    }
                    #[allow(clippy::cast_precision_loss)]
                    fn visit_i64<E: de::Error>(self, v: i64) -> Result<$ty, E> {
                        Ok(v as $ty)
                    }
                    #[allow(clippy::cast_precision_loss)]
                    fn visit_u64<E: de::Error>(self, v: u64) -> Result<$ty, E> {
                        Ok(v as $ty)
                    }
                    fn visit_str<E: de::Error>(self, v: &str) -> Result<$ty, E> {
                        match v.parse() {
                            Ok(value) => Ok(value),
                            Err(_) if v == "Infinity" => Ok(<$ty>::INFINITY),
                            Err(_) if v == "-Infinity" => Ok(<$ty>::NEG_INFINITY),
                            Err(_) if v == "NaN" => Ok(<$ty>::NAN),
                            Err(error) => Err(E::custom(error)),
                        }
                    }
                }
                deserializer.deserialize_any(FloatVisitor)
            }
        }
    };
}

float_kind!(
    Double,
    f64,
    "a 64-bit floating point value",
    serialize_f64,
    Some
);
float_kind!(
    Float,
    f32,
    "a 32-bit floating point value",
    serialize_f32,
    |v| (f64::from(f32::MIN)..=f64::from(f32::MAX))
        .contains(&v)
        .then_some(v as f32)
);

/// Integer kinds: a JSON number (an integral float such as `1e2` too) or a
/// decimal string.
macro_rules! integer_kind {
    ($kind:ident, $ty:ty, $expecting:literal, $write:ident) => {
        impl Kind for $kind {
            type Value = $ty;
            fn write<S: Serializer>(value: &$ty, serializer: S) -> Result<S::Ok, S::Error> {
                integer_kind!(@write $write, value, serializer)
            }
            fn read<'de, D: Deserializer<'de>>(deserializer: D) -> Result<$ty, D::Error> {
                struct IntegerVisitor;
                impl Visitor<'_> for IntegerVisitor {
                    type Value = $ty;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_str<E: de::Error>(self, v: &str) -> Result<$ty, E> {
                        v.parse().map_err(E::custom)
                    }
                    fn visit_i64<E: de::Error>(self, v: i64) -> Result<$ty, E> {
                        v.try_into().map_err(E::custom)
                    }
                    fn visit_u64<E: de::Error>(self, v: u64) -> Result<$ty, E> {
                        v.try_into().map_err(E::custom)
                    }
                    #[allow(clippy::cast_precision_loss)]
                    fn visit_f64<E: de::Error>(self, v: f64) -> Result<$ty, E> {
                        if v.fract() != 0.0 {
                            return Err(E::custom("expected integer value"));
                        }
                        if v < (<$ty>::MIN as f64) || v > (<$ty>::MAX as f64) {
                            return Err(E::custom("float value out of range"));
                        }
                        Ok(v as $ty)
                    }
                }
                deserializer.deserialize_any(IntegerVisitor)
            }
        }

        impl KeyKind for $kind {
            fn write_key(value: &$ty) -> Cow<'_, str> {
                Cow::Owned(value.to_string())
            }
            fn read_key(text: &str) -> Result<$ty, String> {
                text.parse().map_err(|e| format!("{e}"))
            }
        }
    };
    (@write number, $value:ident, $serializer:ident) => {
        $value.serialize($serializer)
    };
    // 64-bit integers are strings: JavaScript numbers cannot hold them.
    (@write string, $value:ident, $serializer:ident) => {
        $serializer.collect_str($value)
    };
}

integer_kind!(Int32, i32, "a 32-bit signed integer", number);
integer_kind!(
    Uint32,
    u32,
    "a 32-bit unsigned integer or decimal string",
    number
);
integer_kind!(
    Int64,
    i64,
    "a 64-bit signed integer or decimal string",
    string
);
integer_kind!(
    Uint64,
    u64,
    "a 64-bit unsigned integer or decimal string",
    string
);

impl Kind for Bool {
    type Value = bool;
    fn write<S: Serializer>(value: &bool, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bool(*value)
    }
    fn read<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
        struct BoolVisitor;
        impl Visitor<'_> for BoolVisitor {
            type Value = bool;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a boolean")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
                Ok(v)
            }
        }
        deserializer.deserialize_any(BoolVisitor)
    }
}

impl KeyKind for Bool {
    fn write_key(value: &bool) -> Cow<'_, str> {
        Cow::Borrowed(if *value { "true" } else { "false" })
    }
    fn read_key(text: &str) -> Result<bool, String> {
        text.parse().map_err(|e| format!("{e}"))
    }
}

impl Kind for Str {
    type Value = String;
    fn write<S: Serializer>(value: &String, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(value)
    }
    fn read<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
        serde::Deserialize::deserialize(deserializer)
    }
}

impl KeyKind for Str {
    fn write_key(value: &String) -> Cow<'_, str> {
        Cow::Borrowed(value)
    }
    fn read_key(text: &str) -> Result<String, String> {
        Ok(text.to_owned())
    }
}

impl Kind for Bytes {
    type Value = Vec<u8>;
    fn write<S: Serializer>(value: &Vec<u8>, serializer: S) -> Result<S::Ok, S::Error> {
        write_bytes(value, serializer)
    }
    fn read<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        struct Base64Visitor;
        impl Visitor<'_> for Base64Visitor {
            type Value = Vec<u8>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a base64-encoded string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<u8>, E> {
                base64_decode(v.as_bytes()).map_err(|e| E::custom(format!("invalid base64: {e}")))
            }
        }
        deserializer.deserialize_str(Base64Visitor)
    }
}

/// Bytes as standard base64 with padding, the mapping's output form.
pub fn write_bytes<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// Standard or URL-safe base64, padded or not. Unlike prost-reflect, stray
/// bits after the last byte are refused: such a body takes the dynamic road.
pub fn base64_decode(text: &[u8]) -> Result<Vec<u8>, base64::DecodeError> {
    const CONFIG: GeneralPurposeConfig =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    const STANDARD: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::STANDARD, CONFIG);
    const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, CONFIG);
    match STANDARD.decode(text) {
        Err(base64::DecodeError::InvalidByte(_, b'-' | b'_')) => URL_SAFE.decode(text),
        other => other,
    }
}

// ---- enums --------------------------------------------------------------

/// A generated enum `E`, stored as its number: written by name when the
/// number is known, else as the number; read from a name or any number
/// (proto3 enums are open).
pub struct Enum<E>(PhantomData<E>);

impl<E: ProtoEnum> Kind for Enum<E> {
    type Value = i32;
    fn write<S: Serializer>(value: &i32, serializer: S) -> Result<S::Ok, S::Error> {
        write_enum(*value, E::name(*value), serializer)
    }
    fn read<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i32, D::Error> {
        struct EnumVisitor<E>(PhantomData<E>);
        impl<E: ProtoEnum> Visitor<'_> for EnumVisitor<E> {
            type Value = i32;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or integer")
            }
            fn visit_str<Er: de::Error>(self, v: &str) -> Result<i32, Er> {
                E::number(v)
                    .ok_or_else(|| Er::custom(format_args!("unrecognized enum value '{v}'")))
            }
            fn visit_i64<Er: de::Error>(self, v: i64) -> Result<i32, Er> {
                v.try_into().map_err(Er::custom)
            }
            fn visit_u64<Er: de::Error>(self, v: u64) -> Result<i32, Er> {
                v.try_into().map_err(Er::custom)
            }
        }
        deserializer.deserialize_any(EnumVisitor::<E>(PhantomData))
    }
}

/// An enum value: its name, or its number when it has no name here.
pub fn write_enum<S: Serializer>(
    number: i32,
    name: Option<&str>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match name {
        Some(name) => serializer.serialize_str(name),
        None => serializer.serialize_i32(number),
    }
}

/// `google.protobuf.NullValue`: always `null`.
pub struct Null;

impl Kind for Null {
    type Value = i32;
    fn write<S: Serializer>(_: &i32, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_unit()
    }
    fn read<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i32, D::Error> {
        struct NullVisitor;
        impl Visitor<'_> for NullVisitor {
            type Value = i32;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("null")
            }
            fn visit_unit<E: de::Error>(self) -> Result<i32, E> {
                Ok(0)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<i32, E> {
                match v {
                    "NULL_VALUE" => Ok(0),
                    _ => Err(E::custom("expected null")),
                }
            }
        }
        deserializer.deserialize_any(NullVisitor)
    }
    fn null() -> Option<i32> {
        Some(0)
    }
}

/// A float in a submessage field without presence: a wrapper's `value`, a
/// map entry's value. prost leaves such a field out of the wire form when it
/// equals 0.0, and so -0.0 reaches every other face (gRPC, the dynamic road)
/// as 0.0: written as 0.0 here too, so every face answers alike.
pub struct Entry<K>(PhantomData<K>);

impl<K> Kind for Entry<K>
where
    K: Kind,
    K::Value: Default + PartialEq,
{
    type Value = K::Value;
    fn write<S: Serializer>(value: &K::Value, serializer: S) -> Result<S::Ok, S::Error> {
        if is_set(value) {
            K::write(value, serializer)
        } else {
            K::write(&K::Value::default(), serializer)
        }
    }
    fn read<'de, D: Deserializer<'de>>(deserializer: D) -> Result<K::Value, D::Error> {
        K::read(deserializer)
    }
}

// ---- messages, lists, maps ----------------------------------------------

/// A generated message, with its own generated serde impls.
pub struct Message<M>(PhantomData<M>);

impl<M: Serialize + for<'de> serde::Deserialize<'de>> Kind for Message<M> {
    type Value = M;
    fn write<S: Serializer>(value: &M, serializer: S) -> Result<S::Ok, S::Error> {
        value.serialize(serializer)
    }
    fn read<'de, D: Deserializer<'de>>(deserializer: D) -> Result<M, D::Error> {
        // The generated impls borrow nothing from the input.
        M::deserialize(deserializer)
    }
}

/// `repeated K`: a JSON array.
pub struct Repeated<K>(PhantomData<K>);

impl<K: Kind> Kind for Repeated<K> {
    type Value = Vec<K::Value>;
    fn write<S: Serializer>(values: &Vec<K::Value>, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(values.len()))?;
        for value in values {
            seq.serialize_element(&Ser::<K>::new(value))?;
        }
        seq.end()
    }
    fn read<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<K::Value>, D::Error> {
        struct ListVisitor<K>(PhantomData<K>);
        impl<'de, K: Kind> Visitor<'de> for ListVisitor<K> {
            type Value = Vec<K::Value>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut values = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
                while let Some(value) = seq.next_element_seed(Element::<K>(PhantomData))? {
                    values.push(value);
                }
                Ok(values)
            }
        }
        deserializer.deserialize_any(ListVisitor::<K>(PhantomData))
    }
}

/// `map<KK, VK>`: a JSON object, written in key order (prost's maps are
/// `BTreeMap`s here, and the dynamic road sorts), so both roads write the
/// same bytes. A key given twice keeps its last value, as in prost-reflect.
pub struct Map<KK, VK>(PhantomData<(KK, VK)>);

impl<KK, VK> Kind for Map<KK, VK>
where
    KK: KeyKind,
    KK::Value: Ord,
    VK: Kind,
{
    type Value = BTreeMap<KK::Value, VK::Value>;
    fn write<S: Serializer>(entries: &Self::Value, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(entries.len()))?;
        for (key, value) in entries {
            map.serialize_entry(&*KK::write_key(key), &Ser::<VK>::new(value))?;
        }
        map.end()
    }
    fn read<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self::Value, D::Error> {
        struct MapVisitor<KK, VK>(PhantomData<(KK, VK)>);
        impl<'de, KK, VK> Visitor<'de> for MapVisitor<KK, VK>
        where
            KK: KeyKind,
            KK::Value: Ord,
            VK: Kind,
        {
            type Value = BTreeMap<KK::Value, VK::Value>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = BTreeMap::new();
                while let Some(key) = map.next_key_seed(MapKey::<KK>(PhantomData))? {
                    let value = map.next_value_seed(Element::<VK>(PhantomData))?;
                    entries.insert(key, value);
                }
                Ok(entries)
            }
        }
        deserializer.deserialize_any(MapVisitor::<KK, VK>(PhantomData))
    }
}

struct MapKey<K>(PhantomData<K>);

impl<'de, K: KeyKind> DeserializeSeed<'de> for MapKey<K> {
    type Value = K::Value;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<K::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<K: KeyKind> Visitor<'_> for MapKey<K> {
    type Value = K::Value;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<K::Value, E> {
        K::read_key(v).map_err(E::custom)
    }
}

// ---- well-known types ---------------------------------------------------
//
// The wrappers (`Int32Value`, `StringValue`, …) are stored by prost as the
// plain Rust value and written and read exactly as their scalar kind; the
// types below have a JSON form of their own.

/// Reads a well-known type with prost-reflect, the dynamic road's reader,
/// so both roads accept exactly the same strings and shapes.
fn read_reflected<'de, T, D>(deserializer: D) -> Result<T, D::Error>
where
    T: ReflectMessage + Default,
    D: Deserializer<'de>,
{
    let descriptor = T::default().descriptor();
    DynamicMessage::deserialize(descriptor, deserializer)?
        .transcode_to()
        .map_err(D::Error::custom)
}

/// `google.protobuf.Timestamp`: RFC 3339 in UTC, ending in `Z`.
pub struct Timestamp;

impl Kind for Timestamp {
    type Value = prost_types::Timestamp;
    fn write<S: Serializer>(value: &Self::Value, serializer: S) -> Result<S::Ok, S::Error> {
        crate::rfc3339::serialize_proto3(value.seconds, value.nanos, serializer)
    }
    fn read<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self::Value, D::Error> {
        read_reflected(deserializer)
    }
}

/// `google.protobuf.Duration`: seconds with 0, 3, 6 or 9 fraction digits and
/// an `s`, e.g. `"-1.500s"`.
pub struct Duration;

/// The largest magnitude of a Duration's seconds the mapping allows
/// (10,000 years).
const MAX_DURATION_SECONDS: u64 = 315_576_000_000;

impl Kind for Duration {
    type Value = prost_types::Duration;
    fn write<S: Serializer>(value: &Self::Value, serializer: S) -> Result<S::Ok, S::Error> {
        let prost_types::Duration { seconds, nanos } = *value;
        if seconds.unsigned_abs() > MAX_DURATION_SECONDS || nanos.unsigned_abs() > 999_999_999 {
            return Err(S::Error::custom("duration out of range"));
        }
        if (seconds < 0 && nanos > 0) || (seconds > 0 && nanos < 0) {
            return Err(S::Error::custom(
                "duration has seconds and nanos of opposite signs",
            ));
        }
        let sign = if seconds < 0 || nanos < 0 { "-" } else { "" };
        let (seconds, nanos) = (seconds.unsigned_abs(), nanos.unsigned_abs());
        let text = match nanos {
            0 => format!("{sign}{seconds}s"),
            n if n % 1_000_000 == 0 => format!("{sign}{seconds}.{:03}s", n / 1_000_000),
            n if n % 1_000 == 0 => format!("{sign}{seconds}.{:06}s", n / 1_000),
            n => format!("{sign}{seconds}.{n:09}s"),
        };
        serializer.serialize_str(&text)
    }
    fn read<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self::Value, D::Error> {
        read_reflected(deserializer)
    }
}

/// `google.protobuf.FieldMask`: the paths in lowerCamelCase, comma-separated.
pub struct FieldMask;

impl Kind for FieldMask {
    type Value = prost_types::FieldMask;
    fn write<S: Serializer>(value: &Self::Value, serializer: S) -> Result<S::Ok, S::Error> {
        let mut text = String::new();
        for (i, path) in value.paths.iter().enumerate() {
            if i > 0 {
                text.push(',');
            }
            for (j, part) in path.split('.').enumerate() {
                if j > 0 {
                    text.push('.');
                }
                lower_camel(part, &mut text).ok_or_else(|| {
                    S::Error::custom(format_args!(
                        "field mask path '{path}' cannot be written in lowerCamelCase and read back"
                    ))
                })?;
            }
        }
        serializer.serialize_str(&text)
    }
    fn read<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self::Value, D::Error> {
        read_reflected(deserializer)
    }
}

/// `foo_bar` as `fooBar`; `None` for a name that would not read back the
/// same (upper case, or `_` not followed by a lower-case letter).
fn lower_camel(snake: &str, out: &mut String) -> Option<()> {
    let mut upper_next = false;
    for c in snake.chars() {
        if c.is_ascii_uppercase() {
            return None;
        }
        if upper_next {
            let upper = c.to_ascii_uppercase();
            if upper == c {
                return None;
            }
            out.push(upper);
            upper_next = false;
        } else if c == '_' {
            upper_next = true;
        } else {
            out.push(c);
        }
    }
    // A trailing `_` has nothing to capitalize: it would be lost.
    (!upper_next).then_some(())
}

/// `google.protobuf.Struct`: a JSON object (in key order: prost keeps its
/// fields in a `BTreeMap`).
pub struct Struct;
/// `google.protobuf.Value`: any JSON value; `null` is the null value.
pub struct Value;
/// `google.protobuf.ListValue`: a JSON array.
pub struct ListValue;

impl Kind for Struct {
    type Value = prost_types::Struct;
    fn write<S: Serializer>(value: &Self::Value, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(value.fields.len()))?;
        for (key, item) in &value.fields {
            map.serialize_entry(key, &Ser::<Value>::new(item))?;
        }
        map.end()
    }
    fn read<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self::Value, D::Error> {
        read_reflected(deserializer)
    }
}

impl Kind for Value {
    type Value = prost_types::Value;
    fn write<S: Serializer>(value: &Self::Value, serializer: S) -> Result<S::Ok, S::Error> {
        use prost_types::value::Kind as V;
        match &value.kind {
            None | Some(V::NullValue(_)) => serializer.serialize_unit(),
            Some(V::BoolValue(b)) => serializer.serialize_bool(*b),
            Some(V::NumberValue(n)) if n.is_finite() => serializer.serialize_f64(*n),
            Some(V::NumberValue(_)) => Err(S::Error::custom(
                "a google.protobuf.Value cannot hold NaN or an infinity",
            )),
            Some(V::StringValue(s)) => serializer.serialize_str(s),
            Some(V::ListValue(list)) => ListValue::write(list, serializer),
            Some(V::StructValue(object)) => Struct::write(object, serializer),
        }
    }
    fn read<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self::Value, D::Error> {
        read_reflected(deserializer)
    }
    fn null() -> Option<Self::Value> {
        Some(prost_types::Value {
            kind: Some(prost_types::value::Kind::NullValue(0)),
        })
    }
}

impl Kind for ListValue {
    type Value = prost_types::ListValue;
    fn write<S: Serializer>(value: &Self::Value, serializer: S) -> Result<S::Ok, S::Error> {
        Repeated::<Value>::write(&value.values, serializer)
    }
    fn read<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self::Value, D::Error> {
        read_reflected(deserializer)
    }
}

/// `google.protobuf.Empty` (prost stores it as `()`): `{}`.
pub struct Empty;

impl Kind for Empty {
    type Value = ();
    fn write<S: Serializer>((): &(), serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_map(Some(0))?.end()
    }
    fn read<'de, D: Deserializer<'de>>(deserializer: D) -> Result<(), D::Error> {
        struct EmptyVisitor;
        impl<'de> Visitor<'de> for EmptyVisitor {
            type Value = ();
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an empty map")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
                match map.next_entry::<de::IgnoredAny, de::IgnoredAny>()? {
                    Some(_) => Err(A::Error::custom("unexpected value in map")),
                    None => Ok(()),
                }
            }
        }
        // As prost-reflect reads it.
        deserializer.deserialize_map(EmptyVisitor)
    }
}

/// A `google.protobuf` message without a JSON form of its own (`Any`,
/// `Api`, `Type`, the descriptors), by prost-reflect both ways: the dynamic
/// road writes and reads them with prost-reflect too.
///
/// An `Any` here can only carry a well-known type: prost-reflect looks its
/// payload's type up among the types it knows itself. (build.rs gives no
/// typed road to an RPC whose messages can hold an `Any`: the dynamic road,
/// which knows every descriptor, serves it.)
pub struct Reflected<T>(PhantomData<T>);

impl<T: ReflectMessage + Default> Kind for Reflected<T> {
    type Value = T;
    fn write<S: Serializer>(value: &T, serializer: S) -> Result<S::Ok, S::Error> {
        value.transcode_to_dynamic().serialize(serializer)
    }
    fn read<'de, D: Deserializer<'de>>(deserializer: D) -> Result<T, D::Error> {
        read_reflected(deserializer)
    }
}

/// The enums of the `google.protobuf` messages, for fields of those types.
macro_rules! prost_types_enum {
    ($($ty:ty),*) => {$(
        impl ProtoEnum for $ty {
            fn name(number: i32) -> Option<&'static str> {
                Self::try_from(number).ok().map(|value| value.as_str_name())
            }
            fn number(name: &str) -> Option<i32> {
                Self::from_str_name(name).map(|value| value as i32)
            }
        }
    )*};
}

prost_types_enum!(
    prost_types::Syntax,
    prost_types::field::Kind,
    prost_types::field::Cardinality
);

#[cfg(test)]
mod tests {
    use super::*;

    fn write<K: Kind>(value: &K::Value) -> String {
        serde_json::to_string(&Ser::<K>::new(value)).unwrap()
    }

    #[test]
    fn non_finite_floats_are_the_three_strings() {
        assert_eq!(write::<Double>(&f64::NAN), r#""NaN""#);
        assert_eq!(write::<Double>(&f64::INFINITY), r#""Infinity""#);
        assert_eq!(write::<Float>(&f32::NEG_INFINITY), r#""-Infinity""#);
        assert_eq!(write::<Float>(&0.1), "0.1");
    }

    #[test]
    fn timestamps_are_rfc3339_in_utc_and_out_of_range_ones_are_refused() {
        let at = |seconds, nanos| prost_types::Timestamp { seconds, nanos };
        assert_eq!(
            write::<Timestamp>(&at(1_761_138_327, 121_465_000)),
            r#""2025-10-22T13:05:27.121465Z""#
        );
        let read = |json: &str| Timestamp::read(&mut serde_json::Deserializer::from_str(json));
        assert_eq!(
            read(r#""2025-10-22T15:05:27.121465+02:00""#).unwrap(),
            at(1_761_138_327, 121_465_000)
        );
        assert!(read(r#""2025-10-22 13:05:27Z""#).is_err());
        assert!(read("17").is_err());
        for bad in [at(253_402_300_800, 0), at(0, -1), at(0, 1_000_000_000)] {
            assert!(serde_json::to_string(&Ser::<Timestamp>::new(&bad)).is_err());
        }
    }

    #[test]
    fn durations_use_the_fewest_exact_digit_groups() {
        let d = |seconds, nanos| prost_types::Duration { seconds, nanos };
        assert_eq!(write::<Duration>(&d(0, 0)), r#""0s""#);
        assert_eq!(write::<Duration>(&d(-1, -500_000_000)), r#""-1.500s""#);
        assert_eq!(write::<Duration>(&d(0, -1_000)), r#""-0.000001s""#);
        assert_eq!(write::<Duration>(&d(3, 1)), r#""3.000000001s""#);
        assert!(serde_json::to_string(&Ser::<Duration>::new(&d(1, -1))).is_err());
        assert!(serde_json::to_string(&Ser::<Duration>::new(&d(315_576_000_001, 0))).is_err());
    }

    #[test]
    fn field_masks_are_lower_camel_and_refuse_what_cannot_read_back() {
        let mask = |paths: &[&str]| prost_types::FieldMask {
            paths: paths.iter().map(|p| (*p).to_owned()).collect(),
        };
        assert_eq!(
            write::<FieldMask>(&mask(&["foo_bar.baz", "qux"])),
            r#""fooBar.baz,qux""#
        );
        for bad in ["fooBar", "foo__bar", "foo_", "foo_1"] {
            assert!(
                serde_json::to_string(&Ser::<FieldMask>::new(&mask(&[bad]))).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn integers_read_from_numbers_strings_and_integral_exponents() {
        let read = |json: &str| Int32::read(&mut serde_json::Deserializer::from_str(json));
        assert_eq!(read("7").unwrap(), 7);
        assert_eq!(read(r#""-7""#).unwrap(), -7);
        assert_eq!(read("1e2").unwrap(), 100);
        assert!(read("1.5").is_err());
        assert!(read("2147483648").is_err());
        assert!(read(r#""1e2""#).is_err());
    }

    #[test]
    fn floats_out_of_f32_range_are_refused() {
        let read = |json: &str| Float::read(&mut serde_json::Deserializer::from_str(json));
        assert!(read("1e39").is_err());
        assert_eq!(read(r#""-Infinity""#).unwrap(), f32::NEG_INFINITY);
    }
}
