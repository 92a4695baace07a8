//! Shell completions (clap_complete) and man pages (clap_mangen), generated from the real
//! clap `Command` so they can never list a flag the binary lacks.
//!
//! The hidden `curvecast completions --out DIR` writes them; `cargo xtask completions`
//! calls it on the built binary, so the xtask itself never links the server (and polars).

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_complete::Shell;

/// Writes `curvecast.bash`, `_curvecast` (zsh), `curvecast.fish` and `man/curvecast.1` plus
/// one `man/curvecast-COMMAND.1` per visible command into `out`; returns the files written.
pub fn write_all(out: &Path) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(out)?;
    let mut command = public_command();
    let mut files = Vec::new();
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        files.push(clap_complete::generate_to(
            shell,
            &mut command,
            "curvecast",
            out,
        )?);
    }
    let man = out.join("man");
    std::fs::create_dir_all(&man)?;
    // As clap_mangen's own `generate_to`: no `help` page, and built so that subcommands
    // carry their display names (`curvecast-fit`).
    let mut command = public_command().disable_help_subcommand(true);
    command.build();
    for page in std::iter::once(command.clone()).chain(command.get_subcommands().cloned()) {
        // The footer names the program, not the subcommand (clap_mangen's default).
        let man_page = clap_mangen::Man::new(page.clone())
            .source(concat!("curvecast ", env!("CARGO_PKG_VERSION")));
        let path = man.join(man_page.get_filename());
        let mut file = std::io::BufWriter::new(std::fs::File::create(&path)?);
        render_page(&man_page, &page, &mut file)?;
        file.flush()?;
        files.push(path);
    }
    Ok(files)
}

/// The command line without its hidden internal commands: clap_complete offers hidden
/// commands like any other, and clap has no way to remove a subcommand, so the top level is
/// rebuilt around the visible ones.
fn public_command() -> clap::Command {
    let full = crate::cli::Cli::command();
    clap::Command::new("curvecast")
        .version(env!("CARGO_PKG_VERSION"))
        .about(full.get_about().cloned().unwrap_or_default())
        .after_help(full.get_after_help().cloned().unwrap_or_default())
        .subcommand_required(full.is_subcommand_required_set())
        .subcommands(full.get_subcommands().filter(|c| !c.is_hide_set()).cloned())
}

/// clap_mangen's sections, with the help's examples as a preformatted EXAMPLES section
/// (its own EXTRA section fills them into one paragraph, joining the command lines).
fn render_page(
    man: &clap_mangen::Man,
    command: &clap::Command,
    w: &mut dyn Write,
) -> std::io::Result<()> {
    man.render_title(w)?;
    man.render_name_section(w)?;
    man.render_synopsis_section(w)?;
    man.render_description_section(w)?;
    if command.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(w)?;
    }
    if command.has_subcommands() {
        man.render_subcommands_section(w)?;
    }
    if let Some(after) = command.get_after_help() {
        let text = after.to_string();
        let body = text.strip_prefix("Examples:\n").unwrap_or(&text);
        writeln!(w, ".SH EXAMPLES\n.nf")?;
        for line in body.lines() {
            writeln!(w, "{}", roff_line(line))?;
        }
        writeln!(w, ".fi")?;
    }
    if command.get_version().is_some() {
        man.render_version_section(w)?;
    }
    Ok(())
}

/// One line of literal text in roff: backslashes escaped, `-` as the ASCII minus a shell
/// needs (a bare `-` may print as a hyphen), and no line read as a request.
fn roff_line(line: &str) -> String {
    let escaped = line.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with('.') || escaped.starts_with('\'') {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

#[cfg(test)]
mod tests {
    use super::roff_line;

    #[test]
    fn roff_lines_keep_flags_and_never_become_requests() {
        assert_eq!(
            roff_line("  curvecast fit --law x"),
            "  curvecast fit \\-\\-law x"
        );
        assert_eq!(roff_line(".hidden"), "\\&.hidden");
        assert_eq!(roff_line("a\\b"), "a\\eb");
    }
}
