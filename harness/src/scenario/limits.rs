//! The most work one scenario file may ask for. Each limit is checked while the file
//! loads, before anything runs, and refused at the place in the file where it is crossed.
//! Within them a load takes time about linear in the file's size; past them the time (to
//! load, and above all to run) would grow with the input without an answer.
//!
//! The numbers are pullsim's, not Azure's: a scenario describes one misconfiguration in
//! a page or two (the largest seed is under 2 KiB, the largest seed matrix has 16
//! combinations and no steps).

use std::io::Read;
use std::path::Path;

/// Largest scenario or fixture file, in bytes (1 MiB).
pub const MAX_FILE_BYTES: usize = 1 << 20;

/// Most combinations a matrix may expand to (and so most values of one axis).
pub const MAX_COMBINATIONS: usize = 1024;

/// Most axes of a matrix: ten axes of two values already make 1024 combinations.
pub const MAX_AXES: usize = 16;

/// Most `[[matrix.cell]]` tables: one combination takes one cell, so more than there can
/// be combinations would never all apply.
pub const MAX_CELLS: usize = MAX_COMBINATIONS;

/// Most `[[step]]`s of one scenario.
pub const MAX_STEPS: usize = 128;

/// Most steps a file may expand to: its steps times its matrix's combinations. Steps run
/// one after another, a pull taking up to seconds on the docker backend.
pub const MAX_EXPANDED_STEPS: usize = 4096;

/// Most values (every string, number, table… of the document after the merge with the
/// fixture) a file may expand to: the document times its matrix's combinations, each
/// combination being checked and run as a scenario of its own.
pub const MAX_EXPANDED_VALUES: usize = 500_000;

/// Most paths a file's `unset` lists, and most paths its matrix's axis values set
/// together: each change looks its path up in the document (of each combination).
pub const MAX_PATHS: usize = 128;

/// Most app settings of a site.
pub const MAX_APP_SETTINGS: usize = 1024;

/// Most known words one load compares with a mistake for a "did you mean" hint; past
/// them errors come without hints (a file with thousands of mistakes gets hints for the
/// first ones). Not a refusal: only how much a load spends on hints.
pub const MAX_HINT_WORDS: usize = 100_000;

/// Reads a scenario or fixture file as text. Of a file larger than [`MAX_FILE_BYTES`]
/// only the first `MAX_FILE_BYTES + 1` bytes are read (invalid UTF-8 in them replaced):
/// enough for the loader to refuse it at the place the limit is crossed.
pub(crate) fn read_text(path: &Path) -> std::io::Result<String> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?.take(MAX_FILE_BYTES as u64 + 1).read_to_end(&mut bytes)?;
    if bytes.len() > MAX_FILE_BYTES {
        return Ok(String::from_utf8_lossy(&bytes).into_owned());
    }
    String::from_utf8(bytes)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "stream did not contain valid UTF-8"))
}
