//! The store's journal file: its record format, reading it strictly, and what `pullsim
//! state check` and `pullsim state salvage` do with a damaged one.
//!
//! # Format
//! One record per line. Since the checksummed format every line is
//!
//! ```text
//! 9f3c01aa {"seq":42,"ops":[{"put":{…}},{"delete":"/subscriptions/…"}]}
//! ```
//!
//! the CRC32C (Castagnoli) of the JSON bytes in eight lower-case hex digits, one space,
//! the JSON, `\n`. A record is appended with one write and fsynced before the write it
//! carries is acknowledged, so the only damage a crash can leave is an incomplete last
//! line (no `\n`): the *torn tail*, which opening cuts, naming the bytes. Anything else
//! that does not read — a checksum that does not match, JSON that does not parse, a
//! record of the wrong shape, a sequence number out of order (a line lost or repeated) —
//! is damage nothing can explain but the disk or a hand: the start is refused, naming
//! the file, the record (its line number), its byte offset and what was expected, and
//! the file is left as it is for `check` and `salvage`.
//!
//! # Migration
//! Journals written before checksums hold bare JSON lines (`{"seq":…}`). They are read as
//! they are (checked for JSON, shape and sequence only) and new records are appended
//! checksummed, so a journal moves to the new format as it grows; once a checksummed
//! record has appeared, a bare line after it is damage. `pullsim state salvage` rewrites
//! a journal wholly checksummed.
//!
//! # Sequence
//! Each record's `seq` is the previous one's plus one; the first record of a file may
//! start anywhere (a reset starts a new file with the next number), and a record marked
//! `reset` may jump forward.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

/// The journal's file name inside a state directory.
pub const FILE: &str = "journal.jsonl";

/// How much of a damaged line an error quotes.
const QUOTE: usize = 60;

/// A damaged record: where it is and what was expected there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// The record's line number (1-based).
    pub record: u64,
    /// Byte offset of the line's first byte.
    pub offset: u64,
    /// Length of the line, its `\n` included.
    pub len: u64,
    /// What a record there must be.
    pub expected: String,
    /// What is there instead.
    pub found: String,
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "record {} at byte {}: expected {}, found {}", self.record, self.offset, self.expected, self.found)
    }
}

/// An incomplete last line: bytes a crash left after the last acknowledged record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TornTail {
    /// Where it starts (the length the file is cut to).
    pub offset: u64,
    /// How many bytes it holds.
    pub len: u64,
}

/// What reading the next line gave.
pub(crate) enum Next {
    /// A record that reads.
    Record(Value),
    /// Bytes without a final `\n`: still being written (a follower waits) or torn (opening
    /// cuts them).
    Incomplete(u64),
    /// The end of the file, at a record boundary.
    End,
    /// A line that does not read.
    Damaged(Damage),
    /// A record that reads but whose sequence number does not follow the last one (a
    /// line lost or repeated before it): the record, and the damage to report.
    OutOfSequence(Value, Damage),
}

/// Reads records in order and holds each to the format and the sequence.
pub(crate) struct Reader {
    /// Line number of the next record (1-based).
    record: u64,
    /// Byte offset of the next record.
    offset: u64,
    /// `seq` of the last record read.
    last_seq: Option<u64>,
    /// Line number of the first checksummed record, once one was read.
    checksummed_since: Option<u64>,
    /// Records read without a checksum.
    legacy: usize,
}

impl Reader {
    /// A reader at the start of a file.
    pub(crate) fn new() -> Reader {
        Reader { record: 1, offset: 0, last_seq: None, checksummed_since: None, legacy: 0 }
    }

    /// Byte offset of the next record.
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    /// Reads the next line of `input` (positioned at [`Reader::offset`]). A record is
    /// consumed, in sequence or not; an incomplete line, the end or a damaged line leave
    /// the reader where it was.
    pub(crate) fn next(&mut self, input: &mut impl BufRead) -> std::io::Result<Next> {
        let mut line = Vec::new();
        let n = input.read_until(b'\n', &mut line)? as u64;
        if n == 0 {
            return Ok(Next::End);
        }
        if line.last() != Some(&b'\n') {
            return Ok(Next::Incomplete(n));
        }
        let damage =
            |r: &Reader, (expected, found)| Damage { record: r.record, offset: r.offset, len: n, expected, found };
        let (v, checksummed) = match self.check(&line[..line.len() - 1]) {
            Ok(ok) => ok,
            Err(e) => return Ok(Next::Damaged(damage(self, e))),
        };
        let order = self.in_sequence(&v).map_err(|e| damage(self, e));
        self.consume(&v, n, checksummed);
        Ok(match order {
            Ok(()) => Next::Record(v),
            Err(d) => Next::OutOfSequence(v, d),
        })
    }

    /// Moves past a record.
    fn consume(&mut self, v: &Value, len: u64, checksummed: bool) {
        if checksummed {
            self.checksummed_since.get_or_insert(self.record);
        } else {
            self.legacy += 1;
        }
        self.last_seq = v["seq"].as_u64();
        self.record += 1;
        self.offset += len;
    }

    /// Steps over a damaged line (check and salvage read on past damage); the next record
    /// may carry any sequence number.
    fn skip(&mut self, d: &Damage) {
        self.record += 1;
        self.offset += d.len;
        self.last_seq = None;
    }

    /// Whether a record's `seq` follows the last one read.
    fn in_sequence(&self, v: &Value) -> Result<(), (String, String)> {
        let seq = v["seq"].as_u64().unwrap_or_default();
        let reset = v["reset"] == true;
        match self.last_seq {
            Some(last) if reset && seq <= last => {
                Err((format!("a reset with a sequence number above {last}"), format!("seq {seq}")))
            }
            Some(last) if !reset && Some(seq) != last.checked_add(1) => {
                Err((format!("sequence number {} (after {last})", last.saturating_add(1)), format!("seq {seq}")))
            }
            _ => Ok(()),
        }
    }

    /// The record a line holds and whether it carried a checksum, or what was expected
    /// and what was found.
    fn check(&self, line: &[u8]) -> Result<(Value, bool), (String, String)> {
        let checksummed = line.first() != Some(&b'{');
        let json = if !checksummed {
            if let Some(since) = self.checksummed_since {
                return Err((
                    format!("a checksummed record (every record since record {since} is)"),
                    format!("a record without a checksum: {}", quote(line)),
                ));
            }
            line
        } else {
            let (sum, json) = match (line.get(..8), line.get(8), line.get(9..)) {
                (Some(sum), Some(b' '), Some(json)) => (sum, json),
                _ => {
                    return Err(("a record: eight hex digits of CRC32C, a space, a JSON object".into(), quote(line)));
                }
            };
            let want = std::str::from_utf8(sum).ok().and_then(|s| u32::from_str_radix(s, 16).ok());
            let Some(want) = want.filter(|_| sum.iter().all(u8::is_ascii_hexdigit)) else {
                return Err(("eight hex digits of CRC32C at the start of the line".into(), quote(line)));
            };
            let got = crc32c::crc32c(json);
            if got != want {
                return Err((
                    format!("the checksum {want:08x} over the record"),
                    format!("{got:08x}: {}", quote(json)),
                ));
            }
            json
        };
        let v: Value = serde_json::from_slice(json).map_err(|e| ("a JSON object".to_string(), format!("{e}")))?;
        shape(&v).map_err(|what| (what.to_string(), quote(json)))?;
        Ok((v, checksummed))
    }
}

/// Whether a record has the journal's shape; what it lacks if not.
fn shape(v: &Value) -> Result<(), &'static str> {
    let obj = v.as_object().ok_or("a JSON object")?;
    obj.get("seq").and_then(Value::as_u64).ok_or("a record with a numeric \"seq\"")?;
    if obj.get("reset").is_some_and(|r| !r.is_boolean()) {
        return Err("\"reset\" to be true or false");
    }
    let ops = obj.get("ops").and_then(Value::as_array).ok_or("a record with an \"ops\" array")?;
    for op in ops {
        let ok = match (op.get("put"), op.get("delete")) {
            (Some(p), None) => p["id"].is_string(),
            (None, Some(d)) => d.is_string(),
            _ => false,
        };
        if !ok {
            return Err("each op to be {\"put\": {\"id\": …}} or {\"delete\": \"<id>\"}");
        }
    }
    Ok(())
}

fn quote(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let cut: String = text.chars().take(QUOTE).collect();
    if cut.len() < text.len() { format!("{cut:?}…") } else { format!("{cut:?}") }
}

/// A record as one line: checksum, space, JSON, newline.
pub(crate) fn encode(record: &Value) -> Vec<u8> {
    let json = serde_json::to_vec(record).unwrap_or_default();
    let mut line = format!("{:08x} ", crc32c::crc32c(&json)).into_bytes();
    line.extend_from_slice(&json);
    line.push(b'\n');
    line
}

/// Files whose presence marks a directory as a pullsim state directory.
const STATE_FILES: [&str; 3] = [FILE, "ca-key.pem", "token-key.pk8"];

/// Makes `dir` a private state directory: created with mode 0700 (parents as needed);
/// an existing one readable by others is narrowed to 0700 when it is empty or already
/// holds pullsim's state (a directory made by an older pullsim), and left as it is with
/// a warning otherwise (it is someone else's directory too).
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    if !dir.exists() {
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
        // The mode above is filtered by the umask; set it exactly.
        return std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    }
    let mode = std::fs::metadata(dir)?.permissions().mode() & 0o777;
    if mode & 0o077 == 0 {
        return Ok(());
    }
    let ours = std::fs::read_dir(dir)?.next().is_none() || STATE_FILES.iter().any(|f| dir.join(f).exists());
    if ours {
        tracing::info!(dir = %dir.display(), "state directory was mode {mode:o}; now 700");
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
    } else {
        tracing::warn!(dir = %dir.display(), "state directory is mode {mode:o} and holds other files: left as it is; the CA and token keys in it stay private (0600)");
        Ok(())
    }
}

/// Errors of `check` and `salvage`.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// The journal could not be read or written.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A running pullsim holds the journal.
    #[error("{path} is in use by a running pullsim: stop it first")]
    InUse {
        /// The journal.
        path: PathBuf,
    },
}

fn io(op: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> JournalError {
    let path = path.to_path_buf();
    move |source| JournalError::Io { op, path, source }
}

/// What a whole journal holds, read past any damage.
#[derive(Debug, Clone, Default)]
pub struct Scan {
    /// The journal.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// The records that read, in order, each with its line number.
    pub records: Vec<(u64, Value)>,
    /// Records without a checksum (the format before checksums).
    pub legacy: usize,
    /// Every damaged record.
    pub damaged: Vec<Damage>,
    /// An incomplete last line.
    pub torn: Option<TornTail>,
    /// Resources the valid records leave, and the last sequence number among them.
    pub resources: usize,
    /// The highest sequence number read.
    pub last_seq: u64,
}

impl Scan {
    /// Whether a server would start on this journal as it is (a torn tail is cut then).
    pub fn healthy(&self) -> bool {
        self.damaged.is_empty()
    }
}

/// Reads the journal at `path` wholly: every record that reads, every damaged one, the
/// torn tail. An absent file is an empty journal.
pub fn scan(path: &Path) -> Result<Scan, JournalError> {
    let mut out = Scan { path: path.to_path_buf(), ..Scan::default() };
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(io("open", path)(e)),
    };
    out.size = file.metadata().map_err(io("stat", path))?.len();
    let mut input = BufReader::new(file);
    let mut reader = Reader::new();
    let mut state = super::state::State::default();
    loop {
        let at = reader.record;
        match reader.next(&mut input).map_err(io("read", path))? {
            Next::End => break,
            Next::Incomplete(len) => {
                out.torn = Some(TornTail { offset: reader.offset(), len });
                break;
            }
            Next::Record(v) => {
                state.apply(&v);
                out.last_seq = out.last_seq.max(v["seq"].as_u64().unwrap_or_default());
                out.records.push((at, v));
            }
            // The record reads: keep it (salvage sorts the sequence out), report the gap.
            Next::OutOfSequence(v, d) => {
                state.apply(&v);
                out.last_seq = out.last_seq.max(v["seq"].as_u64().unwrap_or_default());
                out.records.push((at, v));
                out.damaged.push(d);
            }
            Next::Damaged(d) => {
                reader.skip(&d);
                out.damaged.push(d);
            }
        }
    }
    out.legacy = reader.legacy;
    out.resources = state.len();
    Ok(out)
}

/// What `salvage` did.
#[derive(Debug, Clone)]
pub struct Salvaged {
    /// The journal as it was.
    pub scan: Scan,
    /// Where the damaged file is kept (`None`: nothing was rewritten).
    pub kept: Option<PathBuf>,
    /// Records written to the new journal.
    pub written: usize,
    /// Sequence numbers no valid record carried, written as empty records noting the loss.
    pub gaps: Vec<u64>,
}

/// Writes a new journal from every record of the old one that reads (checksummed), with
/// an empty record for each sequence number whose record was lost, and keeps the old
/// file beside it as `journal.damaged-<unix seconds>.jsonl`. A journal with nothing to
/// repair (no damage, no torn tail, every record checksummed) is left alone.
pub fn salvage(dir: &Path) -> Result<Salvaged, JournalError> {
    let path = dir.join(FILE);
    let scan = scan(&path)?;
    if scan.damaged.is_empty() && scan.torn.is_none() && scan.legacy == 0 {
        return Ok(Salvaged { scan, kept: None, written: 0, gaps: Vec::new() });
    }
    // The lock a running store holds on its journal: never rewrite under it.
    let held = OpenOptions::new().read(true).open(&path).map_err(io("open", &path))?;
    if held.try_lock().is_err() {
        return Err(JournalError::InUse { path });
    }
    let mut lines = Vec::new();
    let mut gaps = Vec::new();
    let mut last: Option<u64> = None;
    let mut written = 0;
    for (_, v) in &scan.records {
        let seq = v["seq"].as_u64().unwrap_or_default();
        let reset = v["reset"] == true;
        match last {
            // A repeated or older record: its writes are already in (or superseded).
            Some(l) if seq <= l => continue,
            Some(l) if !reset => {
                for missing in l + 1..seq {
                    gaps.push(missing);
                    lines.extend(encode(&json!({"seq": missing, "ops": [], "lost": true})));
                }
            }
            _ => {}
        }
        lines.extend(encode(v));
        written += 1;
        last = Some(seq);
    }
    let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let kept = dir.join(format!("journal.damaged-{stamp}.jsonl"));
    let tmp = dir.join(format!("{FILE}.salvage"));
    let mut f = File::create(&tmp).map_err(io("create", &tmp))?;
    f.write_all(&lines).map_err(io("write", &tmp))?;
    f.sync_all().map_err(io("fsync", &tmp))?;
    // A second name for the old file first, then the new one over the journal: a crash
    // in between leaves the old journal where it was.
    std::fs::hard_link(&path, &kept).map_err(io("link", &kept))?;
    std::fs::rename(&tmp, &path).map_err(io("rename", &path))?;
    File::open(dir).and_then(|d| d.sync_all()).map_err(io("fsync", dir))?;
    drop(held);
    Ok(Salvaged { scan, kept: Some(kept), written, gaps })
}

/// Reads a journal for a leader that is about to append to it: every record, or the
/// first damage. A torn tail is reported, not cut (the caller cuts it).
pub(crate) fn read_all(
    file: &mut File,
    mut apply: impl FnMut(&Value),
) -> std::io::Result<Result<Option<TornTail>, Damage>> {
    file.seek(SeekFrom::Start(0))?;
    let mut input = BufReader::new(&*file);
    let mut reader = Reader::new();
    loop {
        match reader.next(&mut input)? {
            Next::End => return Ok(Ok(None)),
            Next::Incomplete(len) => return Ok(Ok(Some(TornTail { offset: reader.offset(), len }))),
            Next::Record(v) => apply(&v),
            Next::Damaged(d) | Next::OutOfSequence(_, d) => return Ok(Err(d)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(seq: u64) -> Value {
        json!({"seq": seq, "ops": [{"put": {"id": format!("/subscriptions/s/resourceGroups/g{seq}")}}]})
    }

    fn read(bytes: &[u8]) -> (Vec<u64>, Option<Damage>, Option<u64>) {
        let mut input = std::io::Cursor::new(bytes.to_vec());
        let mut r = Reader::new();
        let mut seqs = Vec::new();
        loop {
            match r.next(&mut input).unwrap() {
                Next::Record(v) => seqs.push(v["seq"].as_u64().unwrap()),
                Next::End => return (seqs, None, None),
                Next::Incomplete(n) => return (seqs, None, Some(n)),
                Next::Damaged(d) | Next::OutOfSequence(_, d) => return (seqs, Some(d), None),
            }
        }
    }

    #[test]
    fn checksummed_records_read_back_and_a_flipped_byte_is_damage_with_its_place() {
        let mut bytes = [encode(&rec(1)), encode(&rec(2)), encode(&rec(3))].concat();
        assert_eq!(read(&bytes).0, vec![1, 2, 3]);
        let second = encode(&rec(1)).len();
        bytes[second + 30] ^= 0x04;
        let (seqs, damage, _) = read(&bytes);
        assert_eq!(seqs, vec![1]);
        let d = damage.unwrap();
        assert_eq!((d.record, d.offset), (2, second as u64));
        assert!(d.expected.starts_with("the checksum"), "{d}");
    }

    #[test]
    fn legacy_lines_read_until_a_checksummed_record_appears() {
        let legacy = |v: &Value| format!("{v}\n").into_bytes();
        let ok = [legacy(&rec(1)), legacy(&rec(2)), encode(&rec(3))].concat();
        assert_eq!(read(&ok).0, vec![1, 2, 3]);
        let bad = [legacy(&rec(1)), encode(&rec(2)), legacy(&rec(3))].concat();
        let (seqs, d, _) = read(&bad);
        assert_eq!(seqs, vec![1, 2]);
        assert!(d.unwrap().expected.contains("since record 2"));
    }

    #[test]
    fn a_missing_or_repeated_line_is_a_sequence_error() {
        let missing = [encode(&rec(1)), encode(&rec(3))].concat();
        assert_eq!(read(&missing).1.unwrap().expected, "sequence number 2 (after 1)");
        let repeated = [encode(&rec(1)), encode(&rec(1))].concat();
        assert_eq!(read(&repeated).1.unwrap().found, "seq 1");
        let reset = [encode(&rec(5)), encode(&json!({"seq": 9, "ops": [], "reset": true})), encode(&rec(10))].concat();
        assert_eq!(read(&reset).0, vec![5, 9, 10]);
    }

    #[test]
    fn an_incomplete_last_line_is_incomplete_even_inside_a_utf8_character() {
        let mut torn = encode(&rec(1));
        let tail = "00000000 {\"seq\":2,\"ops\":[{\"put\":{\"id\":\"é".as_bytes();
        torn.extend_from_slice(&tail[..tail.len() - 1]);
        let (seqs, d, incomplete) = read(&torn);
        assert_eq!((seqs, d), (vec![1], None));
        assert_eq!(incomplete, Some(tail.len() as u64 - 1));
    }

    #[test]
    fn wrong_shapes_name_what_was_expected() {
        let line = |v: Value| encode(&v);
        let d = read(&line(json!({"ops": []}))).1.unwrap();
        assert_eq!(d.expected, "a record with a numeric \"seq\"");
        let d = read(&line(json!({"seq": 1, "ops": [{"put": {}}]}))).1.unwrap();
        assert!(d.expected.starts_with("each op"));
        let d = read(b"zz\n").1.unwrap();
        assert!(d.expected.starts_with("a record: eight hex digits"));
        let d = read(b"{\"seq\":1,\"ops\":[}\n").1.unwrap();
        assert_eq!(d.expected, "a JSON object");
    }

    #[test]
    fn salvage_keeps_every_valid_record_fills_the_gap_and_keeps_the_damaged_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE);
        let lines: Vec<Vec<u8>> = (1..=10).map(|s| encode(&rec(s))).collect();
        let mut bytes = lines.concat();
        let at: usize = lines[..4].iter().map(Vec::len).sum();
        bytes[at + 20] ^= 0x01;
        std::fs::write(&path, &bytes).unwrap();
        let s = scan(&path).unwrap();
        assert_eq!((s.records.len(), s.damaged.len(), s.damaged[0].record), (9, 1, 5));
        let out = salvage(dir.path()).unwrap();
        assert_eq!((out.written, out.gaps.clone()), (9, vec![5]));
        assert_eq!(std::fs::read(out.kept.as_ref().unwrap()).unwrap(), bytes, "the damaged file is kept as it was");
        let again = scan(&path).unwrap();
        assert!(again.healthy() && again.torn.is_none() && again.legacy == 0);
        assert_eq!((again.records.len(), again.resources, again.last_seq), (10, 9, 10));
        assert!(salvage(dir.path()).unwrap().kept.is_none(), "a healthy journal is left alone");
    }
}
