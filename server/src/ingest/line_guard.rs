//! [`LineGuard`]: the longest-line limit checked while an upload streams in, so that a
//! text file that is one enormous line is refused at its first `max_line_bytes`, not
//! after the whole body has been received and copied.
//!
//! Only line-based text is checked: a file whose first bytes are binary (Parquet, zip,
//! TensorBoard records, anything with a NUL) or a JSON document (which may be one long
//! line; `max_json_bytes` bounds it when it is parsed) is let through, and the readers
//! check it as before.

/// Bytes looked at to decide whether a file is line-based text.
const SNIFF_BYTES: usize = 512;

#[derive(Debug)]
enum Kind {
    /// Not decided yet: fewer than [`SNIFF_BYTES`] seen.
    Unknown,
    Text,
    Exempt,
}

#[derive(Debug)]
pub struct LineGuard {
    max_line_bytes: usize,
    kind: Kind,
    head: Vec<u8>,
    /// Bytes of the current line so far, and its number (from 1).
    current: usize,
    line: usize,
}

impl LineGuard {
    pub fn new(max_line_bytes: usize) -> Self {
        Self {
            max_line_bytes,
            kind: Kind::Unknown,
            head: Vec::new(),
            current: 0,
            line: 1,
        }
    }

    /// Takes the next chunk of the file; `Some(line)` when that line is over the limit.
    pub fn feed(&mut self, chunk: &[u8]) -> Option<usize> {
        if let Kind::Unknown = self.kind {
            self.head
                .extend_from_slice(&chunk[..chunk.len().min(SNIFF_BYTES)]);
            if self.head.len() < SNIFF_BYTES {
                // Undecided: count the chunk as text for now; a verdict of binary or
                // JSON later only lifts the check.
                return self.count(chunk);
            }
            self.kind = classify(&self.head);
            self.head = Vec::new();
        }
        match self.kind {
            Kind::Exempt => None,
            _ => self.count(chunk),
        }
    }

    fn count(&mut self, chunk: &[u8]) -> Option<usize> {
        if let Kind::Unknown = self.kind
            && self.current + chunk.len() > self.max_line_bytes
        {
            // Too early to tell a long line from a binary file: decide now.
            self.kind = classify(&self.head);
            if let Kind::Exempt = self.kind {
                return None;
            }
        }
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', chunk) {
            if self.current + (end - start) > self.max_line_bytes {
                return Some(self.line);
            }
            self.current = 0;
            self.line += 1;
            start = end + 1;
        }
        self.current += chunk.len() - start;
        (self.current > self.max_line_bytes).then_some(self.line)
    }
}

/// Line-based text, or a file the line limit does not apply to.
fn classify(head: &[u8]) -> Kind {
    let head = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    let first = head.iter().find(|b| !b.is_ascii_whitespace());
    let binary = head.contains(&0) || head.starts_with(b"PAR1") || head.starts_with(b"PK");
    if binary || matches!(first, Some(b'{' | b'[')) {
        Kind::Exempt
    } else {
        Kind::Text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first_long_line(max: usize, chunks: &[&[u8]]) -> Option<usize> {
        let mut guard = LineGuard::new(max);
        chunks.iter().find_map(|c| guard.feed(c))
    }

    #[test]
    fn a_long_line_is_found_across_chunks() {
        let long = vec![b'x'; 700];
        let text = [b"step,loss\n1,2\n".as_slice(), &long, &long, b"\n"];
        assert_eq!(first_long_line(1000, &text), Some(3));
        assert_eq!(first_long_line(2000, &text), None);
    }

    #[test]
    fn short_lines_pass() {
        let text = "step,loss\n".to_string() + &"1,2.5\n".repeat(10_000);
        let chunks: Vec<&[u8]> = text.as_bytes().chunks(333).collect();
        assert_eq!(first_long_line(16, &chunks), None);
    }

    #[test]
    fn json_and_binary_files_are_not_line_checked() {
        let json = [b"  {\"a\": \"".as_slice(), &vec![b'x'; 5000], b"\"}"];
        assert_eq!(first_long_line(100, &json), None);
        let parquet = [b"PAR1".as_slice(), &vec![7u8; 5000]];
        assert_eq!(first_long_line(100, &parquet), None);
        let nul = [b"ab\0".as_slice(), &vec![7u8; 5000]];
        assert_eq!(first_long_line(100, &nul), None);
    }
}
