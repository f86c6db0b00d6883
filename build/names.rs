//! Proto names as the Rust names prost-build gives them, so code generated
//! beside prost's can name its types, fields and oneofs.

use std::collections::{BTreeMap, BTreeSet};

use heck::{ToSnakeCase, ToUpperCamelCase};
use proc_macro2::TokenStream;
use prost_types::{DescriptorProto, FileDescriptorSet};
use quote::{format_ident, quote};

/// prost-build's `sanitize_identifier`: keywords become raw identifiers (or
/// get a trailing `_` where Rust has no raw form), leading digits a `_`.
fn sanitize(ident: String) -> String {
    match ident.as_str() {
        "as" | "break" | "const" | "continue" | "else" | "enum" | "false" | "fn" | "for" | "if"
        | "impl" | "in" | "let" | "loop" | "match" | "mod" | "move" | "mut" | "pub" | "ref"
        | "return" | "static" | "struct" | "trait" | "true" | "type" | "unsafe" | "use"
        | "where" | "while" | "dyn" | "abstract" | "become" | "box" | "do" | "final" | "macro"
        | "override" | "priv" | "typeof" | "unsized" | "virtual" | "yield" | "async" | "await"
        | "try" | "gen" => format!("r#{ident}"),
        "_" | "super" | "self" | "Self" | "extern" | "crate" => format!("{ident}_"),
        s if s.starts_with(|c: char| c.is_numeric()) => format!("_{ident}"),
        _ => ident,
    }
}

/// A field or module name: `lower_snake`.
pub fn snake(name: &str) -> String {
    sanitize(name.to_snake_case())
}

/// A type or variant name: `UpperCamel`.
pub fn upper_camel(name: &str) -> String {
    sanitize(name.to_upper_camel_case())
}

/// A name from [`snake`] or [`upper_camel`] as an identifier token.
pub fn ident(name: &str) -> proc_macro2::Ident {
    match name.strip_prefix("r#") {
        Some(raw) => proc_macro2::Ident::new_raw(raw, proc_macro2::Span::call_site()),
        None => format_ident!("{name}"),
    }
}

/// Whether `package` is `prefix` or lies under it (`greet` holds
/// `greet.v1`, not `greeting.v1`).
pub fn is_within(package: &str, prefix: &str) -> bool {
    package == prefix
        || package
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('.'))
}

/// Where a message or enum lives: its package and the messages it nests in.
#[derive(Clone)]
pub struct Place {
    pub package: String,
    pub parents: Vec<String>,
    pub name: String,
}

/// Every message and enum of a descriptor set, by full name (`.pkg.Msg`).
pub struct Types {
    places: BTreeMap<String, Place>,
    pub messages: BTreeMap<String, DescriptorProto>,
    pub enums: BTreeSet<String>,
}

impl Types {
    pub fn new(fds: &FileDescriptorSet) -> Self {
        let mut types = Types {
            places: BTreeMap::new(),
            messages: BTreeMap::new(),
            enums: BTreeSet::new(),
        };
        for file in &fds.file {
            let package = file.package().to_owned();
            for message in &file.message_type {
                types.add_message(&package, &[], message);
            }
            for e in &file.enum_type {
                let full = types.add(&package, &[], e.name());
                types.enums.insert(full);
            }
        }
        types
    }

    fn add(&mut self, package: &str, parents: &[String], name: &str) -> String {
        let mut full = if package.is_empty() {
            String::new()
        } else {
            format!(".{package}")
        };
        for part in parents.iter().map(String::as_str).chain([name]) {
            full.push('.');
            full.push_str(part);
        }
        self.places.insert(
            full.clone(),
            Place {
                package: package.to_owned(),
                parents: parents.to_vec(),
                name: name.to_owned(),
            },
        );
        full
    }

    fn add_message(&mut self, package: &str, parents: &[String], message: &DescriptorProto) {
        let full = self.add(package, parents, message.name());
        self.messages.insert(full, message.clone());
        let mut inner = parents.to_vec();
        inner.push(message.name().to_owned());
        for nested in &message.nested_type {
            self.add_message(package, &inner, nested);
        }
        for e in &message.enum_type {
            let full = self.add(package, &inner, e.name());
            self.enums.insert(full);
        }
    }

    pub fn place(&self, full_name: &str) -> &Place {
        self.places
            .get(full_name)
            .unwrap_or_else(|| panic!("{full_name} is not in the descriptor set"))
    }

    /// The Rust path of a message or enum, from code in `from_package`'s
    /// module (generated files are included in a module per package
    /// segment, as prost's own code expects).
    pub fn rust_path(&self, full_name: &str, from_package: &str) -> TokenStream {
        let place = self.place(full_name);
        let modules = Self::modules(place, from_package)
            .into_iter()
            .map(|m| ident(&m));
        let name = ident(&upper_camel(&place.name));
        quote!(#(#modules::)* #name)
    }

    /// The module prost puts a message's nested types and oneofs in.
    pub fn nested_module(&self, full_name: &str, from_package: &str) -> TokenStream {
        let place = self.place(full_name);
        let mut modules = Self::modules(place, from_package);
        modules.push(snake(&place.name));
        let modules = modules.into_iter().map(|m| ident(&m));
        quote!(#(#modules)::*)
    }

    /// The modules from `from_package`'s down to the one holding `place`.
    fn modules(place: &Place, from_package: &str) -> Vec<String> {
        let here: Vec<&str> = from_package.split('.').filter(|s| !s.is_empty()).collect();
        let there: Vec<&str> = place.package.split('.').filter(|s| !s.is_empty()).collect();
        let shared = here.iter().zip(&there).take_while(|(a, b)| a == b).count();
        (shared..here.len())
            .map(|_| "super".to_owned())
            .chain(there[shared..].iter().map(|s| snake(s)))
            .chain(place.parents.iter().map(|p| snake(p)))
            .collect()
    }
}
