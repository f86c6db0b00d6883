//! Proto comments, read from a file's `source_code_info`, as descriptions.
//!
//! `build.rs` keeps source info for the project's own protos only; a
//! descriptor set compiled without it (or an imported file) simply yields no
//! descriptions.

use prost_reflect::FileDescriptor;

/// The comment attached to the element at `path` of `file` (leading, else
/// trailing), with the one space after each `//` removed, or `None`.
pub fn of(file: &FileDescriptor, path: &[i32]) -> Option<String> {
    let info = file.file_descriptor_proto().source_code_info.as_ref()?;
    let location = info.location.iter().find(|l| l.path == path)?;
    let text = location
        .leading_comments
        .as_deref()
        .filter(|c| !c.trim().is_empty())
        .or(location.trailing_comments.as_deref())?;
    let lines: Vec<&str> = text
        .lines()
        .map(|line| line.strip_prefix(' ').unwrap_or(line).trim_end())
        .collect();
    let joined = lines.join("\n");
    let trimmed = joined.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost_reflect::DescriptorPool;

    #[test]
    fn own_protos_have_comments_and_their_imports_none() {
        let pool = DescriptorPool::decode(crate::pb::FILE_DESCRIPTOR_SET).unwrap();
        let request = pool.get_message_by_name("greet.v1.GreetRequest").unwrap();
        assert_eq!(
            of(&request.parent_file(), request.path()).as_deref(),
            Some("Who to greet, and in which language.")
        );
        let name = request.get_field_by_name("name").unwrap();
        assert_eq!(
            of(&name.parent_file(), name.path()).as_deref(),
            Some(
                "Required: the name to greet; white space around it is trimmed, and it\n\
                 must not be blank."
            )
        );
        let timestamp = pool
            .get_message_by_name("google.protobuf.Timestamp")
            .unwrap();
        assert_eq!(of(&timestamp.parent_file(), timestamp.path()), None);
    }
}
