//! Fenced blocks of a Markdown file, and a `console` block read as a session of commands
//! and their expected output.

/// A fenced block (backticks only; the README and guides use no `~~~` fences).
#[derive(Debug)]
pub struct Block {
    /// 1-based line of the opening fence.
    pub line: usize,
    /// The words of the info string: `["console"]`, `["console", "server"]`, `["sh"]`, ...
    pub info: Vec<String>,
    /// The lines inside the fences, the fence's indent removed (blocks inside list items
    /// are indented), each with its 1-based line number in the file.
    pub body: Vec<(usize, String)>,
}

/// How a block is treated: only `console` blocks run.
#[derive(Debug, PartialEq)]
pub enum Kind {
    /// ```` ```console ````: run, compare the output.
    Console,
    /// ```` ```console server ````: the same, with a fresh server started first.
    ConsoleServer,
    /// ```` ```console server continued ````: the same, against the server (and database)
    /// of the page's previous server block, as a reader who keeps one server running.
    ConsoleServerContinued,
    /// Anything else: never run.
    Other,
}

impl Block {
    pub fn kind(&self) -> Result<Kind, String> {
        match self.info.iter().map(String::as_str).collect::<Vec<_>>()[..] {
            ["console"] => Ok(Kind::Console),
            ["console", "server"] => Ok(Kind::ConsoleServer),
            ["console", "server", "continued"] => Ok(Kind::ConsoleServerContinued),
            ["console", ..] => Err(format!(
                "unknown words after ```console: {:?} (only `server` and `server continued` are known)",
                &self.info[1..]
            )),
            // A session written as a shell script would silently go unchecked.
            ["sh" | "bash" | "shell"] | []
                if self.body.iter().any(|(_, l)| l.starts_with("$ ")) =>
            {
                Err(
                    "has `$ ` prompts: mark it ```console to check it, or drop the prompts \
                     (```sh blocks are never run)"
                        .to_string(),
                )
            }
            _ => Ok(Kind::Other),
        }
    }
}

/// The fenced blocks of a Markdown text, in order.
pub fn blocks(text: &str) -> Result<Vec<Block>, String> {
    let mut blocks = Vec::new();
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
    while let Some((line, l)) = lines.next() {
        let trimmed = l.trim_start();
        let ticks = trimmed.len() - trimmed.trim_start_matches('`').len();
        if ticks < 3 {
            continue;
        }
        let indent = l.len() - trimmed.len();
        let info = trimmed[ticks..]
            .split_whitespace()
            .map(str::to_string)
            .collect();
        let mut body = Vec::new();
        let mut closed = false;
        for (n, l) in lines.by_ref() {
            let t = l.trim();
            if t.len() >= ticks && t.chars().all(|c| c == '`') {
                closed = true;
                break;
            }
            // Remove at most the fence's indent, and only spaces.
            let strip = l.len() - l.trim_start_matches(' ').len();
            body.push((n, l[strip.min(indent)..].to_string()));
        }
        if !closed {
            return Err(format!("line {line}: the block is never closed"));
        }
        blocks.push(Block { line, info, body });
    }
    Ok(blocks)
}

/// One command of a session.
#[derive(Debug, PartialEq)]
pub struct Step {
    /// Line of its `$ `.
    pub line: usize,
    /// The command as the shell gets it (continuation lines joined with newlines).
    pub command: String,
    /// The expected output lines with their line numbers (trailing blank lines dropped).
    pub expected: Vec<(usize, String)>,
    /// The expected exit status: from a last output line `[exit status: N]`, else 0.
    pub status: i32,
}

/// The marker of a command expected to fail, as the last line of its output.
pub const STATUS_PREFIX: &str = "[exit status: ";

/// A `console` block's commands: a line starting with `$ ` is a command (continued on the
/// next line while it ends with `\`), the lines after it up to the next command its output.
pub fn session(block: &Block) -> Result<Vec<Step>, String> {
    let mut steps: Vec<Step> = Vec::new();
    let mut body = block.body.iter();
    while let Some((n, l)) = body.next() {
        if let Some(command) = l.strip_prefix("$ ").or((l == "$").then_some("")) {
            let mut command = command.to_string();
            while command.ends_with('\\') {
                let (_, next) = body.next().ok_or_else(|| {
                    format!("line {n}: the command ends with `\\` and no line follows")
                })?;
                command.push('\n');
                command.push_str(next);
            }
            steps.push(Step {
                line: *n,
                command,
                expected: Vec::new(),
                status: 0,
            });
        } else if let Some(step) = steps.last_mut() {
            step.expected.push((*n, l.clone()));
        } else {
            return Err(format!(
                "line {n}: output before the first command (commands start with `$ `)"
            ));
        }
    }
    if steps.is_empty() {
        return Err("a console block without a command (`$ ...`)".into());
    }
    for step in &mut steps {
        while step
            .expected
            .last()
            .is_some_and(|(_, l)| l.trim().is_empty())
        {
            step.expected.pop();
        }
        if let Some((n, last)) = step.expected.last() {
            if let Some(code) = last.strip_prefix(STATUS_PREFIX) {
                step.status = code
                    .strip_suffix(']')
                    .and_then(|c| c.parse().ok())
                    .ok_or_else(|| format!("line {n}: expected `{STATUS_PREFIX}N]`"))?;
                step.expected.pop();
            }
        }
    }
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
# Title
```sh
curvecast serve
```
- a list item:
  ```console
  $ D=data
  $ curvecast fit \\
      $D/a.csv
  line one
    indented

  $ false
  [exit status: 1]
  ```
```console server
$ curl http://127.0.0.1:8080/api/health
```
```console server continued
$ curl http://127.0.0.1:8080/api/health
```
";

    #[test]
    fn blocks_keep_their_lines_and_lose_the_list_indent() {
        let blocks = blocks(TEXT).unwrap();
        assert_eq!(blocks.len(), 4);
        assert_eq!((blocks[0].line, blocks[0].kind()), (2, Ok(Kind::Other)));
        assert_eq!((blocks[1].line, blocks[1].kind()), (6, Ok(Kind::Console)));
        assert_eq!(blocks[2].kind(), Ok(Kind::ConsoleServer));
        assert_eq!(blocks[3].kind(), Ok(Kind::ConsoleServerContinued));
        assert_eq!(blocks[1].body[0], (7, "$ D=data".to_string()));
        assert_eq!(blocks[1].body[4], (11, "  indented".to_string()));
    }

    #[test]
    fn a_session_is_commands_with_their_output_and_status() {
        let blocks = blocks(TEXT).unwrap();
        let steps = session(&blocks[1]).unwrap();
        assert_eq!(steps.len(), 3);
        assert_eq!(steps[0].command, "D=data");
        assert!(steps[0].expected.is_empty());
        assert_eq!(steps[1].line, 8);
        assert_eq!(steps[1].command, "curvecast fit \\\n    $D/a.csv");
        let expected: Vec<&str> = steps[1].expected.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(expected, ["line one", "  indented"]);
        assert_eq!((steps[1].status, steps[2].status), (0, 1));
        assert!(steps[2].expected.is_empty());
    }

    #[test]
    fn mistakes_in_blocks_are_errors_not_skipped_checks() {
        assert!(blocks("```console\n$ ls\n").unwrap_err().contains("line 1"));
        let one = |text: &str| blocks(text).unwrap().remove(0);
        assert!(
            one("```sh\n$ ls\n```\n")
                .kind()
                .unwrap_err()
                .contains("```console")
        );
        assert!(one("```console srever\n$ ls\n```\n").kind().is_err());
        assert!(one("```console continued\n$ ls\n```\n").kind().is_err());
        assert!(
            session(&one("```console\nout\n$ ls\n```\n"))
                .unwrap_err()
                .contains("line 2")
        );
        assert!(session(&one("```console\n$ ls\n[exit status: x]\n```\n")).is_err());
        // A plain `sh` script is fine, and so are prompts in other languages' blocks.
        assert_eq!(one("```sh\nls\n```\n").kind(), Ok(Kind::Other));
        assert_eq!(
            one("```python\n$ not a prompt\n```\n").kind(),
            Ok(Kind::Other)
        );
    }
}
