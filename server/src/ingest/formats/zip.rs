//! TODO
use super::super::mapping::Mapping;
use super::{IngestError, Limits, ParsedFile};
pub fn read(file: &str, _bytes: &[u8], _mapping: &Mapping, _limits: &Limits) -> Result<ParsedFile, IngestError> {
    Err(IngestError::malformed(file, "todo"))
}
