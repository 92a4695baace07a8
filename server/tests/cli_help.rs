//! The command line explains itself: every command's help ends with examples that the real
//! parser accepts, a mistyped flag or command gets a suggestion, and the generated shell
//! completions and man pages cover every command.

use std::collections::BTreeSet;
use std::process::Command as Process;

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser};
use server::cli::Cli;

/// The visible commands (no `help`, no internal ones), by name.
fn commands() -> Vec<clap::Command> {
    Cli::command()
        .get_subcommands()
        .filter(|c| !c.is_hide_set())
        .cloned()
        .collect()
}

/// The example command lines of a help text: the lines of its `Examples:` block that
/// start with `curvecast `, split like a shell would (quotes; up to a `#` comment).
fn examples(help: &str) -> Vec<Vec<String>> {
    let block = help
        .split_once("Examples:\n")
        .map(|(_, rest)| rest)
        .unwrap_or_else(|| panic!("no `Examples:` block in\n{help}"));
    block
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("curvecast "))
        .map(shell_words)
        .collect()
}

fn shell_words(line: &str) -> Vec<String> {
    let (mut words, mut word, mut quote, mut in_word) = (Vec::new(), String::new(), None, false);
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => (quote, in_word) = (Some(c), true),
            (None, '#') if !in_word => break,
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                }
                in_word = false;
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    assert!(quote.is_none(), "unclosed quote in `{line}`");
    if in_word {
        words.push(word);
    }
    words
}

#[test]
fn shell_words_split_like_a_shell() {
    assert_eq!(
        shell_words(r#"curvecast serve --token "$T" --x 'a b'  # note"#),
        ["curvecast", "serve", "--token", "$T", "--x", "a b"]
    );
}

#[test]
fn every_help_ends_with_examples_the_parser_accepts() {
    let top = Cli::command().render_long_help().to_string();
    assert!(
        top.trim_end().ends_with("the guide is docs/cli.md."),
        "{top}"
    );
    for example in examples(&top) {
        Cli::command()
            .try_get_matches_from(&example)
            .unwrap_or_else(|e| panic!("`{}` in `curvecast --help`: {e}", example.join(" ")));
    }
    for command in commands() {
        let name = command.get_name().to_string();
        let help = command.clone().render_long_help().to_string();
        // The examples are the last thing shown, after the options.
        let options = help.find("Options:").expect("an Options section");
        let shown = help.find("Examples:").unwrap_or(0);
        assert!(
            shown > options,
            "`curvecast {name} --help` does not end with examples:\n{help}"
        );
        let lines = examples(&help);
        assert!(
            (1..=2).contains(&lines.len()),
            "`curvecast {name} --help` has {} examples",
            lines.len()
        );
        for example in lines {
            let matches = Cli::command()
                .try_get_matches_from(&example)
                .unwrap_or_else(|e| {
                    panic!("`{}` in `curvecast {name} --help`: {e}", example.join(" "))
                });
            assert_eq!(
                matches.subcommand_name(),
                Some(name.as_str()),
                "an example of `curvecast {name} --help` runs another command: {example:?}"
            );
        }
    }
}

#[test]
fn a_mistyped_flag_or_command_gets_a_suggestion() {
    let error = Cli::try_parse_from(["curvecast", "fit", "--law", "momentum", "--holdouts", "x"])
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::UnknownArgument);
    let text = error.render().to_string();
    assert!(
        text.contains("a similar argument exists: '--holdout'"),
        "{text}"
    );

    let error = Cli::try_parse_from(["curvecast", "predcit"]).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidSubcommand);
    let text = error.render().to_string();
    assert!(
        text.contains("a similar subcommand exists: 'predict'"),
        "{text}"
    );

    // And the binary says so on stderr with clap's usage-error status.
    let out = Process::new(env!("CARGO_BIN_EXE_curvecast"))
        .args(["predict", "--fit", "fit.json", "--every-step", "10"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("tip: a similar argument exists: '--every'"),
        "{stderr}"
    );
}

#[test]
fn completions_and_man_pages_cover_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let out = Process::new(env!("CARGO_BIN_EXE_curvecast"))
        .args(["completions", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let names: Vec<String> = commands()
        .iter()
        .map(|c| c.get_name().to_string())
        .collect();
    assert!(names.len() >= 11, "{names:?}");
    let read = |file: &str| {
        let text = std::fs::read_to_string(dir.path().join(file))
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(!text.trim().is_empty(), "{file} is empty");
        text
    };
    for file in [
        "curvecast.bash",
        "_curvecast",
        "curvecast.fish",
        "man/curvecast.1",
    ] {
        let text = read(file);
        for name in &names {
            // Man pages escape the dashes of `batch-su` (`batch\-su`).
            let escaped = name.replace('-', "\\-");
            assert!(
                text.contains(name.as_str()) || text.contains(&escaped),
                "{file} does not mention `{name}`"
            );
        }
        // Internal commands stay out of them.
        assert!(
            !text.contains("read-worker") && !text.contains("read\\-worker"),
            "{file}"
        );
    }
    // One page per command, whose options and examples are its own.
    let pages: BTreeSet<String> = std::fs::read_dir(dir.path().join("man"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let expected: BTreeSet<String> = std::iter::once("curvecast.1".to_string())
        .chain(names.iter().map(|n| format!("curvecast-{n}.1")))
        .collect();
    assert_eq!(pages, expected);
    let fit = read("man/curvecast-fit.1");
    assert!(fit.contains("\\-\\-holdout"), "{fit}");
    assert!(
        fit.contains(".SH EXAMPLES") && fit.contains("curvecast fit \\-\\-law momentum"),
        "{fit}"
    );
}
