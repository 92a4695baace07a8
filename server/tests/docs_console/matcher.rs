//! Expected output with elisions against what a command printed, and a readable diff when
//! they differ.
//!
//! `...` alone on a line matches any number of lines (also none); `[..]` inside a line
//! matches any text within that line. Trailing spaces and trailing blank lines are ignored
//! (editors strip them).

pub const ANY_LINES: &str = "...";
pub const ANY_TEXT: &str = "[..]";

/// Whether one output line matches one expected line with `[..]` elisions.
pub fn line_matches(pattern: &str, line: &str) -> bool {
    let (pattern, line) = (pattern.trim_end(), line.trim_end());
    let mut parts = pattern.split(ANY_TEXT);
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = line.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    // Leftmost matches of the middle parts leave the most room for the rest.
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

/// One line of the alignment of expected and actual output.
#[derive(Debug, PartialEq)]
enum Op {
    /// Expected line `i` matched actual line `j`.
    Same(usize, usize),
    /// The `...` of expected line `i` took actual lines `j..k`.
    Elided(usize, usize, usize),
    /// Expected line `i` was printed differently, as actual line `j`.
    Changed(usize, usize),
    /// Expected line `i` has no counterpart.
    Missing(usize),
    /// Actual line `j` has no counterpart.
    Extra(usize),
}

/// `Ok` when `actual` matches the expected lines (each with its line number in the file),
/// else a diff: ` ` lines that match, `-` expected lines (with their file line) missing
/// from the output, `+` output lines not expected.
pub fn compare(file: &str, expected: &[(usize, String)], actual: &str) -> Result<(), String> {
    let mut actual: Vec<&str> = actual.lines().map(str::trim_end).collect();
    while actual.last().is_some_and(|l| l.is_empty()) {
        actual.pop();
    }
    let ops = align(expected, &actual);
    if ops
        .iter()
        .all(|op| matches!(op, Op::Same(..) | Op::Elided(..)))
    {
        return Ok(());
    }
    Err(render(file, expected, &actual, &ops))
}

/// The alignment with the fewest differences (an edit distance where a changed, missing or
/// extra line costs 1 and `...` absorbs any run of output lines for free): zero
/// differences is a match. A changed line costs no more than a missing one, so the diff
/// pairs an expected line with what was printed instead when it can.
fn align(expected: &[(usize, String)], actual: &[&str]) -> Vec<Op> {
    let (n, m) = (expected.len(), actual.len());
    let elision = |i: usize| expected[i].1.trim() == ANY_LINES;
    // cost[i][j]: fewest differences aligning expected[i..] with actual[j..].
    let mut cost = vec![vec![0u32; m + 1]; n + 1];
    for j in (0..m).rev() {
        cost[n][j] = cost[n][j + 1] + 1;
    }
    for i in (0..n).rev() {
        cost[i][m] = cost[i + 1][m] + u32::from(!elision(i));
        for j in (0..m).rev() {
            cost[i][j] = if elision(i) {
                cost[i + 1][j].min(cost[i][j + 1])
            } else {
                let pair = cost[i + 1][j + 1] + u32::from(!line_matches(&expected[i].1, actual[j]));
                pair.min(cost[i + 1][j] + 1).min(cost[i][j + 1] + 1)
            };
        }
    }
    let (mut i, mut j, mut ops) = (0, 0, Vec::new());
    while i < n || j < m {
        if i < n && elision(i) {
            // Take output lines only while leaving the `...` would cost more.
            let start = j;
            while j < m && cost[i + 1][j] != cost[i][j] {
                j += 1;
            }
            ops.push(Op::Elided(i, start, j));
            i += 1;
        } else if i < n
            && j < m
            && cost[i][j] == cost[i + 1][j + 1]
            && line_matches(&expected[i].1, actual[j])
        {
            ops.push(Op::Same(i, j));
            (i, j) = (i + 1, j + 1);
        } else if i < n && j < m && cost[i][j] == cost[i + 1][j + 1] + 1 {
            ops.push(Op::Changed(i, j));
            (i, j) = (i + 1, j + 1);
        } else if i < n && (j == m || cost[i][j] == cost[i + 1][j] + 1) {
            ops.push(Op::Missing(i));
            i += 1;
        } else {
            ops.push(Op::Extra(j));
            j += 1;
        }
    }
    ops
}

fn render(file: &str, expected: &[(usize, String)], actual: &[&str], ops: &[Op]) -> String {
    let width = expected
        .iter()
        .map(|(n, _)| format!("{file}:{n}").len())
        .max()
        .unwrap_or(0);
    let mut lines = vec![format!(
        "  (` ` matches, `-` expected but missing, `+` printed but not expected)"
    )];
    for op in ops {
        match *op {
            Op::Same(i, _) => lines.push(format!(
                "  {:width$} | {}",
                format!("{file}:{}", expected[i].0),
                expected[i].1
            )),
            Op::Elided(i, j, k) => lines.push(format!(
                "  {:width$} | ...   ({} line{} elided)",
                format!("{file}:{}", expected[i].0),
                k - j,
                if k - j == 1 { "" } else { "s" }
            )),
            Op::Changed(i, j) => {
                lines.push(format!(
                    "- {:width$} | {}",
                    format!("{file}:{}", expected[i].0),
                    expected[i].1
                ));
                lines.push(format!("+ {:width$} | {}", "", actual[j]));
            }
            Op::Missing(i) => lines.push(format!(
                "- {:width$} | {}",
                format!("{file}:{}", expected[i].0),
                expected[i].1
            )),
            Op::Extra(j) => lines.push(format!("+ {:width$} | {}", "", actual[j])),
        }
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<(usize, String)> {
        text.lines()
            .enumerate()
            .map(|(i, l)| (i + 10, l.to_string()))
            .collect()
    }

    #[test]
    fn text_elisions_match_any_text_within_a_line() {
        assert!(line_matches("L0 : 2.90[..]", "L0 : 2.902234  +/- 3e-3"));
        assert!(line_matches("[..]", ""));
        assert!(line_matches("a[..]b[..]c", "a--b--b--c"));
        assert!(line_matches("[..]end", "the end"));
        assert!(line_matches("same  ", "same"));
        assert!(!line_matches("a[..]b", "ab-"));
        assert!(
            !line_matches("abc[..]bcd", "abcd"),
            "prefix and suffix may not overlap"
        );
        assert!(!line_matches("L0 : 2.90[..]", "L0 : 2.91"));
        assert!(!line_matches("exact", "exact but longer"));
    }

    #[test]
    fn line_elisions_match_any_number_of_lines() {
        let expected = lines("head\n...\ntail");
        assert!(compare("f", &expected, "head\ntail\n").is_ok());
        assert!(compare("f", &expected, "head\n1\n2\n3\ntail\n\n\n").is_ok());
        assert!(compare("f", &lines("...\nlast"), "a\nlast\nb\nlast").is_ok());
        assert!(compare("f", &lines("..."), "").is_ok());
        assert!(compare("f", &expected, "head\n1\n").is_err());
        assert!(compare("f", &lines(""), "").is_ok());
        assert!(compare("f", &lines(""), "unexpected").is_err());
    }

    #[test]
    fn a_mismatch_is_a_diff_naming_the_file_lines() {
        let expected = lines("[[Variables]]\n    L0 : 2.90[..]\n...\nend");
        let diff = compare(
            "docs/cli.md",
            &expected,
            "[[Variables]]\n    L0 : 3.1\nx\ny\nend\nmore",
        )
        .unwrap_err();
        let want = [
            "  (` ` matches, `-` expected but missing, `+` printed but not expected)",
            "  docs/cli.md:10 | [[Variables]]",
            "- docs/cli.md:11 |     L0 : 2.90[..]",
            "+                |     L0 : 3.1",
            "  docs/cli.md:12 | ...   (2 lines elided)",
            "  docs/cli.md:13 | end",
            "+                | more",
        ]
        .join("\n");
        assert_eq!(diff, want);
    }
}
