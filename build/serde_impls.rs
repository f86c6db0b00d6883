//! `Serialize` and `Deserialize` for every message of a package, in the
//! proto3 JSON mapping. The generated code only lists fields and names
//! each one's kind; how a kind is written and read is
//! `greet_gateway::pb::json`, written once by hand.

use proc_macro2::TokenStream;
use prost_types::{
    DescriptorProto, FieldDescriptorProto,
    field_descriptor_proto::{Label, Type},
};
use quote::{format_ident, quote};

use crate::names::{Types, ident, snake, upper_camel};

/// The impls for the messages and enums of `package`; `root` is the path
/// of the greet-gateway crate where the code is included.
pub fn generate(types: &Types, package: &str, root: &TokenStream) -> TokenStream {
    let json = quote!(#root::pb::json);
    let messages = types
        .messages
        .iter()
        .filter(|(name, m)| types.place(name).package == package && !is_map_entry(m))
        .map(|(name, message)| message_impls(types, package, name, message, &json));
    let enums = types
        .enums
        .iter()
        .filter(|name| types.place(name).package == package)
        .map(|name| {
            let path = types.rust_path(name, package);
            quote! {
                impl #json::ProtoEnum for #path {
                    fn name(number: i32) -> ::core::option::Option<&'static str> {
                        Self::try_from(number).ok().map(|value| value.as_str_name())
                    }
                    fn number(name: &str) -> ::core::option::Option<i32> {
                        Self::from_str_name(name).map(|value| value as i32)
                    }
                }
            }
        });
    quote!(#(#messages)* #(#enums)*)
}

fn is_map_entry(message: &DescriptorProto) -> bool {
    message
        .options
        .as_ref()
        .is_some_and(|o| o.map_entry.unwrap_or(false))
}

/// How a field is stored, which decides when it is written.
enum Presence {
    /// A plain proto3 field: written unless it holds its default.
    Implicit,
    /// `optional`, a message, a wrapper: written when `Some`.
    Explicit,
    /// A member of a real oneof: written when the oneof holds it.
    Oneof {
        field: proc_macro2::Ident,
        member: TokenStream,
        name: String,
    },
}

struct Field {
    json_name: String,
    proto_name: String,
    rust: proc_macro2::Ident,
    local: proc_macro2::Ident,
    kind: TokenStream,
    presence: Presence,
}

fn message_impls(
    types: &Types,
    package: &str,
    full_name: &str,
    message: &DescriptorProto,
    json: &TokenStream,
) -> TokenStream {
    let path = types.rust_path(full_name, package);
    let nested = types.nested_module(full_name, package);
    let mut fields: Vec<&FieldDescriptorProto> = message.field.iter().collect();
    fields.sort_by_key(|f| f.number());
    let fields: Vec<Field> = fields
        .into_iter()
        .map(|f| {
            let rust_name = snake(f.name());
            let presence = match f.oneof_index {
                Some(i) if !f.proto3_optional() => {
                    let oneof = message.oneof_decl[i as usize].name();
                    let enum_name = ident(&upper_camel(oneof));
                    let variant = ident(&upper_camel(f.name()));
                    Presence::Oneof {
                        field: ident(&snake(oneof)),
                        member: quote!(#nested::#enum_name::#variant),
                        name: oneof.to_owned(),
                    }
                }
                _ if f.label() == Label::Repeated => Presence::Implicit,
                _ if f.proto3_optional() || f.r#type() == Type::Message => Presence::Explicit,
                _ => Presence::Implicit,
            };
            Field {
                json_name: f.json_name.clone().unwrap_or_else(|| lower_camel(f.name())),
                proto_name: f.name().to_owned(),
                local: format_ident!("f_{}", rust_name.trim_start_matches("r#")),
                rust: ident(&rust_name),
                kind: field_kind(types, package, f, json),
                presence,
            }
        })
        .collect();

    let serialize = serialize(&path, &fields, json);
    let deserialize = deserialize(&path, full_name, &fields, json);
    quote!(#serialize #deserialize)
}

/// Fields in number order, as the dynamic road writes them.
fn serialize(path: &TokenStream, fields: &[Field], json: &TokenStream) -> TokenStream {
    let entries = fields.iter().map(|field| {
        let Field {
            json_name,
            rust,
            kind,
            ..
        } = field;
        let entry = quote! {
            map.serialize_entry(#json_name, &#json::Ser::<#kind>::new(value))?;
        };
        match &field.presence {
            Presence::Implicit => quote! {
                if #json::is_set(&self.#rust) {
                    let value = &self.#rust;
                    #entry
                }
            },
            Presence::Explicit => quote! {
                if let ::core::option::Option::Some(value) = &self.#rust {
                    #entry
                }
            },
            Presence::Oneof { field, member, .. } => quote! {
                if let ::core::option::Option::Some(#member(value)) = &self.#field {
                    #entry
                }
            },
        }
    });
    quote! {
        impl ::serde::Serialize for #path {
            fn serialize<S: ::serde::Serializer>(
                &self,
                serializer: S,
            ) -> ::core::result::Result<S::Ok, S::Error> {
                use ::serde::ser::SerializeMap as _;
                let mut map = serializer.serialize_map(::core::option::Option::None)?;
                #(#entries)*
                map.end()
            }
        }
    }
}

/// Keys are JSON names or proto names; unknown keys, a key given twice and
/// wrong types are errors (the typed road then leaves the body to the
/// dynamic road, which says what is wrong).
fn deserialize(
    path: &TokenStream,
    full_name: &str,
    fields: &[Field],
    json: &TokenStream,
) -> TokenStream {
    let mut names = Vec::new();
    let mut arms = Vec::new();
    let mut slots = Vec::new();
    let mut oneofs: Vec<&proc_macro2::Ident> = Vec::new();
    let mut inits = Vec::new();
    for field in fields {
        let Field {
            json_name,
            proto_name,
            rust,
            local,
            kind,
            presence,
        } = field;
        let mut indexes = vec![names.len()];
        names.push(json_name.clone());
        if proto_name != json_name {
            indexes.push(names.len());
            names.push(proto_name.clone());
        }
        match presence {
            Presence::Oneof {
                field: oneof,
                member,
                name,
            } => {
                arms.push(quote! {
                    #(#indexes)|* => #json::read_oneof::<_, #kind, _>(
                        &mut map,
                        &mut #oneof,
                        #name,
                        |value| #member(::core::convert::Into::into(value)),
                    )?,
                });
                if !oneofs.contains(&oneof) {
                    oneofs.push(oneof);
                    slots.push(quote!(let mut #oneof = ::core::option::Option::None;));
                    inits.push(quote!(#oneof,));
                }
            }
            _ => {
                arms.push(quote!(#(#indexes)|* => #local.read(&mut map, #json_name)?,));
                slots.push(quote!(let mut #local = #json::Slot::<#kind>::default();));
                inits.push(match presence {
                    Presence::Implicit => quote!(#rust: #local.into_value().unwrap_or_default(),),
                    _ => quote!(#rust: #local.into_value().map(::core::convert::Into::into),),
                });
            }
        }
    }
    let expecting = format!("a {} object", full_name.trim_start_matches('.'));
    let read_keys = if fields.is_empty() {
        quote!(while map.next_key_seed(#json::FieldName(FIELDS))?.is_some() {})
    } else {
        quote! {
            while let ::core::option::Option::Some(index) =
                map.next_key_seed(#json::FieldName(FIELDS))?
            {
                match index {
                    #(#arms)*
                    // FieldName refuses every other key.
                    _ => {}
                }
            }
        }
    };
    quote! {
        impl<'de> ::serde::Deserialize<'de> for #path {
            fn deserialize<D: ::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> ::core::result::Result<Self, D::Error> {
                const FIELDS: &[&str] = &[#(#names),*];
                struct Visitor;
                impl<'de> ::serde::de::Visitor<'de> for Visitor {
                    type Value = #path;
                    fn expecting(
                        &self,
                        formatter: &mut ::core::fmt::Formatter<'_>,
                    ) -> ::core::fmt::Result {
                        formatter.write_str(#expecting)
                    }
                    fn visit_map<A: ::serde::de::MapAccess<'de>>(
                        self,
                        mut map: A,
                    ) -> ::core::result::Result<#path, A::Error> {
                        #(#slots)*
                        #read_keys
                        ::core::result::Result::Ok(#path { #(#inits)* })
                    }
                }
                deserializer.deserialize_map(Visitor)
            }
        }
    }
}

/// The `pb::json` kind of a field.
fn field_kind(
    types: &Types,
    package: &str,
    field: &FieldDescriptorProto,
    json: &TokenStream,
) -> TokenStream {
    if field.r#type() == Type::Message
        && let Some(entry) = types.messages.get(field.type_name())
        && is_map_entry(entry)
    {
        let kind_of = |number| {
            let f = entry
                .field
                .iter()
                .find(|f| f.number() == number)
                .expect("a map entry has a key (1) and a value (2)");
            single_kind(types, package, f, json)
        };
        let (key, mut value) = (kind_of(1), kind_of(2));
        if is_float(&entry.field[1]) {
            value = quote!(#json::Entry<#value>);
        }
        return quote!(#json::Map<#key, #value>);
    }
    let single = single_kind(types, package, field, json);
    if field.label() == Label::Repeated {
        quote!(#json::Repeated<#single>)
    } else {
        single
    }
}

/// The kind of one value of a field (of one element, if it is repeated).
fn single_kind(
    types: &Types,
    package: &str,
    field: &FieldDescriptorProto,
    json: &TokenStream,
) -> TokenStream {
    let name = match field.r#type() {
        Type::Double => "Double",
        Type::Float => "Float",
        Type::Int32 | Type::Sint32 | Type::Sfixed32 => "Int32",
        Type::Uint32 | Type::Fixed32 => "Uint32",
        Type::Int64 | Type::Sint64 | Type::Sfixed64 => "Int64",
        Type::Uint64 | Type::Fixed64 => "Uint64",
        Type::Bool => "Bool",
        Type::String => "Str",
        Type::Bytes => "Bytes",
        Type::Enum if field.type_name() == ".google.protobuf.NullValue" => "Null",
        Type::Enum => {
            let path = rust_path(types, field.type_name(), package);
            return quote!(#json::Enum<#path>);
        }
        Type::Message => match well_known_kind(field.type_name()) {
            Some(kind) => {
                let kind = format_ident!("{kind}");
                return if type_name_is_float_wrapper(field.type_name()) {
                    quote!(#json::Entry<#json::#kind>)
                } else {
                    quote!(#json::#kind)
                };
            }
            // Other google.protobuf messages (Api, Type, descriptors…) have
            // no JSON form of their own: prost-reflect writes and reads them.
            None if field.type_name().starts_with(".google.protobuf.") => {
                let path = rust_path(types, field.type_name(), package);
                return quote!(#json::Reflected<#path>);
            }
            None => {
                let path = rust_path(types, field.type_name(), package);
                return quote!(#json::Message<#path>);
            }
        },
        Type::Group => panic!("{}: groups are not proto3", field.name()),
    };
    let name = format_ident!("{name}");
    quote!(#json::#name)
}

/// The kind of a `google.protobuf` type with a JSON form of its own. prost
/// stores the wrappers as plain values, read and written as their scalar
/// (the float ones as an [`Entry`](greet_gateway::pb::json::Entry)).
pub fn well_known_kind(type_name: &str) -> Option<&'static str> {
    Some(match type_name.strip_prefix(".google.protobuf.")? {
        "Timestamp" => "Timestamp",
        "Duration" => "Duration",
        "FieldMask" => "FieldMask",
        "Struct" => "Struct",
        "Value" => "Value",
        "ListValue" => "ListValue",
        "Empty" => "Empty",
        "DoubleValue" => "Double",
        "FloatValue" => "Float",
        "Int64Value" => "Int64",
        "UInt64Value" => "Uint64",
        "Int32Value" => "Int32",
        "UInt32Value" => "Uint32",
        "BoolValue" => "Bool",
        "StringValue" => "Str",
        "BytesValue" => "Bytes",
        _ => return None,
    })
}

/// Where prost finds a type: `google.protobuf` types in prost-types (its
/// default extern path), the rest where prost generated them.
fn rust_path(types: &Types, full_name: &str, package: &str) -> TokenStream {
    if full_name.starts_with(".google.protobuf.") {
        let place = types.place(full_name);
        let modules = place.parents.iter().map(|p| ident(&snake(p)));
        let name = ident(&upper_camel(&place.name));
        quote!(::prost_types:: #(#modules::)* #name)
    } else {
        types.rust_path(full_name, package)
    }
}

fn type_name_is_float_wrapper(type_name: &str) -> bool {
    matches!(
        type_name,
        ".google.protobuf.DoubleValue" | ".google.protobuf.FloatValue"
    )
}

fn is_float(field: &FieldDescriptorProto) -> bool {
    matches!(field.r#type(), Type::Double | Type::Float)
}

/// protoc's default JSON name: `foo_bar` → `fooBar`.
fn lower_camel(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}
