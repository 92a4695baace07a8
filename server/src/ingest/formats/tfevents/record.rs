//! TensorBoard's record framing: `u64 length | u32 masked_crc32c(length bytes) |
//! data[length] | u32 masked_crc32c(data)`, little-endian.

use super::crc32c::masked_crc32c;

/// Bytes of framing around the data of a record.
pub const HEADER: usize = 12;
pub const FOOTER: usize = 4;

/// One whole record, numbered from 1, with the byte offset it starts at.
pub struct Record<'a> {
    pub number: usize,
    pub offset: usize,
    pub data: &'a [u8],
}

#[derive(Debug, PartialEq)]
pub enum Problem {
    /// The file ends inside a record (a run still writing): the records before it count.
    Truncated {
        number: usize,
        offset: usize,
    },
    /// A checksum does not match: the file is corrupt from there.
    BadLengthCrc {
        number: usize,
        offset: usize,
    },
    BadDataCrc {
        number: usize,
        offset: usize,
    },
}

/// Reads whole records until the end, a truncated record, or a bad checksum.
pub fn read(bytes: &[u8]) -> (Vec<Record<'_>>, Option<Problem>) {
    let mut records = Vec::new();
    let mut offset = 0;
    while offset < bytes.len() {
        let number = records.len() + 1;
        let Some(header) = bytes.get(offset..offset + HEADER) else {
            return (records, Some(Problem::Truncated { number, offset }));
        };
        let (len_bytes, len_crc) = header.split_at(8);
        if masked_crc32c(len_bytes) != u32::from_le_bytes(len_crc.try_into().unwrap_or_default()) {
            return (records, Some(Problem::BadLengthCrc { number, offset }));
        }
        let length = u64::from_le_bytes(len_bytes.try_into().unwrap_or_default());
        let end = usize::try_from(length)
            .ok()
            .and_then(|l| {
                offset
                    .checked_add(HEADER)?
                    .checked_add(l)?
                    .checked_add(FOOTER)
            })
            .filter(|&end| end <= bytes.len());
        let Some(end) = end else {
            return (records, Some(Problem::Truncated { number, offset }));
        };
        let data = &bytes[offset + HEADER..end - FOOTER];
        let data_crc = u32::from_le_bytes(bytes[end - FOOTER..end].try_into().unwrap_or_default());
        if masked_crc32c(data) != data_crc {
            return (records, Some(Problem::BadDataCrc { number, offset }));
        }
        records.push(Record {
            number,
            offset,
            data,
        });
        offset = end;
    }
    (records, None)
}

/// Appends one framed record.
pub fn write(out: &mut Vec<u8>, data: &[u8]) {
    let len = (data.len() as u64).to_le_bytes();
    out.extend_from_slice(&len);
    out.extend_from_slice(&masked_crc32c(&len).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&masked_crc32c(data).to_le_bytes());
}

/// Whether the bytes start with a valid record header (the length CRC matches).
pub fn starts_with_record(bytes: &[u8]) -> bool {
    bytes.len() >= HEADER && masked_crc32c(&bytes[..8]).to_le_bytes() == bytes[8..12]
}
