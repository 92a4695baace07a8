//! Demo data: on `serve --demo`, an empty store is filled with the synthetic runs in
//! `fixtures/demo/` (made by the project itself; see `fixtures/README.md`).

use std::path::Path;

use anyhow::Context;

use crate::ingest::{self, Limits};
use crate::store::Store;

/// Loads every file of `dir` into the store, unless the store already has runs.
pub async fn load_if_empty(store: &Store, dir: &Path) -> anyhow::Result<usize> {
    if store.count_runs().await? > 0 {
        return Ok(0);
    }
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("reading the demo folder {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    paths.sort();
    let mut loaded = 0;
    for path in paths {
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let file = ingest::ingest(&name, &bytes, &Limits::default())?;
        loaded += store.add_upload(name, file.format, bytes, file.runs).await?.len();
    }
    Ok(loaded)
}
