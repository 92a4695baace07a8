//! TODO
use super::super::mapping::Mapping;
use super::{IngestError, Limits, ParsedFile};
pub fn read(files: &[(String, &[u8])], _mapping: &Mapping, _limits: &Limits) -> Result<ParsedFile, IngestError> {
    Err(IngestError::malformed(&files[0].0, "todo"))
}
pub fn looks_like(_b: &[u8]) -> bool {
    false
}
pub fn group_by_folder<'a>(files: &[(String, &'a [u8])]) -> Vec<Vec<(String, &'a [u8])>> {
    if files.is_empty() { vec![] } else { vec![files.to_vec()] }
}
