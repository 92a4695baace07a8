//! Embeds the built web app into the `curvecast` binary, so that `curvecast serve` serves
//! it from any folder.
//!
//! When `CURVECAST_EMBED_DIST` names a folder built by `cargo xtask dist` (the xtask sets
//! it for its own builds), every file in it is written into `$OUT_DIR/embedded_app.rs` as
//! an `include_bytes!` table that only the binary includes (the test binaries that link
//! the library do not carry it). Without the variable the table is empty and the server
//! serves `--dist` or the API alone. Keyed on the variable, not on `../dist`, so that a
//! clone without a built app does not rebuild the server on every build.

use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-env-changed=CURVECAST_EMBED_DIST");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let mut table = String::from("&[\n");
    if let Some(dist) = std::env::var_os("CURVECAST_EMBED_DIST").map(PathBuf::from)
        && dist.join("index.html").is_file()
    {
        println!("cargo:rerun-if-changed={}", dist.display());
        let mut files = Vec::new();
        collect(&dist, &mut files);
        files.sort();
        for file in files {
            let route = file
                .strip_prefix(&dist)
                .expect("inside dist")
                .to_string_lossy()
                .replace('\\', "/");
            table.push_str(&format!(
                "    ({route:?}, include_bytes!({:?}).as_slice()),\n",
                file.canonicalize().unwrap_or(file.clone())
            ));
        }
    }
    table.push(']');
    std::fs::write(out.join("embedded_app.rs"), table).expect("write the embedded app table");
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, files);
        } else {
            files.push(path);
        }
    }
}
