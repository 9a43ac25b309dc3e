//! A file that is either a scenario or a fixture (a topology without `name`), loaded as
//! a scenario either way: what `pullsim serve --load` and the library's `apply` take.

use std::path::Path;

use super::{LoadErrors, LoadOptions, Scenario, load_text};

/// Whether `text` is a fixture: no top-level `name` before its first table header.
pub fn is_fixture(text: &str) -> bool {
    !text
        .lines()
        .map(str::trim)
        .take_while(|l| !l.starts_with('['))
        .any(|l| l.strip_prefix("name").is_some_and(|r| r.trim_start().starts_with('=')))
}

/// Loads `text` (named `path`): a scenario as it is, a fixture as a scenario made of it
/// alone (named after the file, found in the file's own folder).
pub fn load(path: &Path, text: &str, search: &LoadOptions) -> Result<Vec<Scenario>, LoadErrors> {
    if !is_fixture(text) {
        return load_text(path, text, search);
    }
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("fixture");
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let doc = format!("name = \"{stem}\"\nfixture = \"{stem}\"\n");
    load_text(&dir.join(format!("{stem}.serve.toml")), &doc, &search.clone().with_fixture_dir(dir))
}
