//! The resource store: the one source of truth every fake Azure service reads.
//!
//! Resources are kept as their ARM JSON (at the newest shape pullsim knows), keyed by
//! lower-cased resource ID in an ordered map, so listings are deterministic and a
//! resource group's contents are one range scan. Writes happen in transactions: a
//! request that touches several resources (a private endpoint creating its network
//! interface and the registry's connection) commits all or nothing, and with a state
//! directory the commit is one fsynced journal record, so a `kill -9` after the answer
//! loses nothing and a torn record from before it is cut. The journal's format and how
//! damage is told from a torn tail are in [`super::journal`]: a journal damaged
//! anywhere but its tail is refused, never cut. One process at a time writes a journal
//! (it holds a lock on the file).
//!
//! A *follower* ([`Store::follow`]) is a read-only replica of a store persisted in a
//! directory another process writes (the docker backend's components read the journal
//! ARM's container writes): every read first applies the records appended since the last
//! one, so a follower is never behind a commit that was acknowledged before it was read.
//! [`Store::reset`] empties a store in a new journal file whose first record carries the
//! next sequence number, so nothing keyed by `seq` mistakes the new store for the old one.
//!
//! Fields that Azure keeps but never returns (admin passwords, ownership of records
//! created by a zone group) live under the top-level key [`PRIVATE`] of a resource and are
//! stripped by ARM before anything is answered.

use std::any::{Any, TypeId};
use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::io::{BufReader, Seek, SeekFrom, Write};
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use serde_json::{Value, json};
use tokio::sync::broadcast;

use super::id::ResourceId;
use super::journal::{self, Damage, Next, Reader};
use super::state::State;

/// Top-level key of a resource's JSON holding fields ARM never shows.
pub const PRIVATE: &str = "_pullsim";

/// A committed change, announced to watchers (the App Service worker restarts an app
/// when its configuration changes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Store sequence number of the commit.
    pub seq: u64,
    /// IDs (as written) of resources put or deleted by the commit.
    pub ids: Vec<String>,
}

/// Errors of the store itself (not of the Azure rules layered on it).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The journal could not be read or written.
    #[error("state journal {path}: {source}")]
    Journal {
        /// Journal file.
        path: PathBuf,
        /// Underlying I/O error.
        source: std::io::Error,
    },
    /// A follower was asked to write.
    #[error("the store is a read-only follower of {path}")]
    ReadOnly {
        /// The journal it follows.
        path: PathBuf,
    },
    /// A record before the journal's tail does not read: nothing was cut, nothing started.
    #[error(
        "state journal {path}: {damage}. The journal is left as it is: `pullsim state check {dir}` lists every damaged record, `pullsim state salvage {dir}` writes a new journal from the valid ones and keeps this file beside it",
        dir = path.parent().unwrap_or(Path::new(".")).display()
    )]
    Damaged {
        /// Journal file.
        path: PathBuf,
        /// The first damaged record.
        damage: Damage,
    },
    /// Another process writes this journal.
    #[error("state journal {path} is in use by another pullsim process")]
    Locked {
        /// Journal file.
        path: PathBuf,
    },
}

/// The shared resource store. Cheap to clone (an `Arc`).
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    // A std RwLock: critical sections are short map operations and never cross an await.
    state: RwLock<State>,
    journal: Option<Mutex<Journal>>,
    follower: Option<Mutex<Follower>>,
    changes: broadcast::Sender<Change>,
    /// Values derived from the store, one per type, each with the sequence number it was
    /// computed at (see [`Store::derived`]).
    derived: Mutex<HashMap<TypeId, Derived>>,
}

/// A derived value and the sequence number it was computed at.
type Derived = (u64, Arc<dyn Any + Send + Sync>);

/// Where a follower is in the journal it follows.
struct Follower {
    path: PathBuf,
    /// The journal file as opened (a reset replaces the file: a new inode).
    file: File,
    ino: u64,
    /// Where the next record starts, and the sequence so far.
    reader: Reader,
    /// The damage the follower stopped at: it applies nothing more from this file.
    stuck: Option<Damage>,
}

struct Journal {
    path: PathBuf,
    file: File,
}

/// One write in a transaction.
#[derive(Debug, Clone)]
enum Op {
    Put(Value),
    Delete(String),
}

impl Default for Store {
    fn default() -> Self {
        Store::in_memory()
    }
}

impl Store {
    /// An empty store that lives in memory only.
    pub fn in_memory() -> Store {
        Store::with(State::default(), None)
    }

    fn with(state: State, journal: Option<Journal>) -> Store {
        let (changes, _) = broadcast::channel(1024);
        Store {
            inner: Arc::new(Inner {
                state: RwLock::new(state),
                journal: journal.map(Mutex::new),
                follower: None,
                changes,
                derived: Mutex::default(),
            }),
        }
    }

    /// A read-only replica of the store persisted in `dir` by another process: it reads
    /// the journal's complete records now and before every later read. A journal that
    /// does not exist yet is an empty store.
    pub fn follow(dir: &Path) -> Result<Store, StoreError> {
        let path = dir.join("journal.jsonl");
        let (changes, _) = broadcast::channel(1024);
        let mut state = State::default();
        let follower = Follower::open(&path, &mut state)?;
        Ok(Store {
            inner: Arc::new(Inner {
                state: RwLock::new(state),
                journal: None,
                follower: Some(Mutex::new(follower)),
                changes,
                derived: Mutex::default(),
            }),
        })
    }

    /// Empties the store. With a journal, the empty store is written to a new file that
    /// replaces the old one (followers notice the new file), starting with a record that
    /// carries the next sequence number.
    pub fn reset(&self) -> Result<(), StoreError> {
        if let Some(f) = &self.inner.follower {
            let path = f.lock().unwrap_or_else(|e| e.into_inner()).path.clone();
            return Err(StoreError::ReadOnly { path });
        }
        let mut st = self.write();
        let seq = st.seq + 1;
        if let Some(j) = &self.inner.journal {
            let mut j = j.lock().unwrap_or_else(|e| e.into_inner());
            let tmp = j.path.with_extension("jsonl.new");
            let io = |source| StoreError::Journal { path: tmp.clone(), source };
            let mut file =
                OpenOptions::new().create(true).truncate(true).read(true).write(true).open(&tmp).map_err(io)?;
            // Locked before it becomes the journal, so no other writer ever gets it.
            if file.try_lock().is_err() {
                return Err(StoreError::Locked { path: tmp.clone() });
            }
            file.write_all(&journal::encode(&json!({"seq": seq, "ops": [], "reset": true}))).map_err(io)?;
            file.sync_data().map_err(io)?;
            std::fs::rename(&tmp, &j.path).map_err(io)?;
            file.seek(SeekFrom::End(0)).map_err(io)?;
            j.file = file;
        }
        st.resources.clear();
        st.seq = seq;
        drop(st);
        let _ = self.inner.changes.send(Change { seq, ids: Vec::new() });
        Ok(())
    }

    /// Opens (or creates) a store persisted in `dir/journal.jsonl`, replaying every
    /// record. A torn last record (a write interrupted before it was acknowledged) is cut
    /// off, with a warning naming its bytes; a damaged record anywhere else refuses the
    /// start ([`StoreError::Damaged`]) and leaves the file as it is. The directory is
    /// made private (see [`super::journal::private_dir`]).
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let path = dir.join(journal::FILE);
        let io = |source| StoreError::Journal { path: path.clone(), source };
        journal::private_dir(dir).map_err(io)?;
        let mut file =
            OpenOptions::new().create(true).truncate(false).read(true).append(true).open(&path).map_err(io)?;
        if file.try_lock().is_err() {
            return Err(StoreError::Locked { path });
        }
        let mut state = State::default();
        let torn = match journal::read_all(&mut file, |r| state.apply(r)).map_err(io)? {
            Ok(torn) => torn,
            Err(damage) => return Err(StoreError::Damaged { path, damage }),
        };
        if let Some(t) = torn {
            tracing::warn!(
                path = %path.display(),
                "cutting a torn last record off the journal: {} bytes at offset {} (a write interrupted before it was acknowledged)",
                t.len,
                t.offset
            );
            file.set_len(t.offset).map_err(io)?;
            file.sync_all().map_err(io)?;
        }
        file.seek(SeekFrom::End(0)).map_err(io)?;
        Ok(Store::with(state, Some(Journal { path, file })))
    }

    /// Subscribes to committed changes.
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.inner.changes.subscribe()
    }

    /// A value computed from the store by `build`, at most once per sequence number: an
    /// index (the network plan, registries by name) that readers on every request share
    /// instead of scanning the store each time. Nothing is kept in sync: a commit moves
    /// the sequence number and the next reader computes it again.
    pub fn derived<T: Send + Sync + 'static>(&self, build: fn(&Store) -> T) -> Arc<T> {
        let seq = self.seq();
        let key = TypeId::of::<T>();
        let cached = self.inner.derived.lock().unwrap_or_else(|e| e.into_inner()).get(&key).cloned();
        if let Some((at, v)) = cached
            && at == seq
            && let Ok(v) = v.downcast::<T>()
        {
            return v;
        }
        // Built outside the lock (a builder may read other derived values); a commit
        // racing the build only makes the next reader build again.
        let v = Arc::new(build(self));
        self.inner.derived.lock().unwrap_or_else(|e| e.into_inner()).insert(key, (seq, v.clone()));
        v
    }

    /// The current sequence number (number of commits so far).
    pub fn seq(&self) -> u64 {
        self.read().seq
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        if let Some(f) = &self.inner.follower {
            self.catch_up(f);
        }
        // A panic while holding the lock cannot leave the map half-written (writes are
        // single map operations), so a poisoned lock is still consistent.
        self.inner.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.inner.state.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The resource with this ID, if any.
    pub fn get(&self, id: &ResourceId) -> Option<Value> {
        self.read().resources.get(&id.key()).cloned()
    }

    /// The resource with this lower-cased key, if any.
    pub fn get_key(&self, key: &str) -> Option<Value> {
        self.read().resources.get(key).cloned()
    }

    /// Part of the resource with this lower-cased key (a JSON pointer, `""` for all),
    /// copying only that part; `None` if the resource or the part is absent.
    pub fn get_at(&self, key: &str, pointer: &str) -> Option<Value> {
        self.read().resources.get(key).and_then(|v| v.pointer(pointer)).cloned()
    }

    /// Every resource whose key starts with `prefix` (lower-cased), in key order.
    pub fn scan_prefix(&self, prefix: &str) -> Vec<Value> {
        let st = self.read();
        range_prefix(&st.resources, prefix).map(|(_, v)| v.clone()).collect()
    }

    /// Every resource for which `f` holds, in key order.
    pub fn filter(&self, mut f: impl FnMut(&str, &Value) -> bool) -> Vec<Value> {
        self.read().resources.iter().filter(|(k, v)| f(k, v)).map(|(_, v)| v.clone()).collect()
    }

    /// Number of resources stored.
    pub fn len(&self) -> usize {
        self.read().resources.len()
    }

    /// Whether the store holds no resource.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A follower applies what its journal gained since the last read. Errors reading the
    /// journal leave the follower where it was (it retries on the next read).
    fn catch_up(&self, f: &Mutex<Follower>) {
        let mut f = f.lock().unwrap_or_else(|e| e.into_inner());
        let Ok(meta) = std::fs::metadata(&f.path) else { return };
        use std::os::unix::fs::MetadataExt;
        if meta.ino() != f.ino {
            // Reset (or created since): start over from the new file.
            let mut fresh = State::default();
            let Ok(next) = Follower::open(&f.path, &mut fresh) else { return };
            *f = next;
            *self.write() = fresh;
            return;
        }
        if f.stuck.is_some() || meta.len() <= f.reader.offset() {
            return;
        }
        let mut st = self.write();
        if let Err(e) = f.read_records(&mut st) {
            tracing::warn!(path = %f.path.display(), error = %e, "reading the journal failed; retrying on the next read");
        }
    }

    /// Runs `f` as a transaction: its writes are applied together if it returns `Ok`,
    /// and not at all if it returns `Err`. Transactions are serialized.
    pub fn transact<T, E>(&self, f: impl FnOnce(&mut Tx<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        if let Some(f) = &self.inner.follower {
            let path = f.lock().unwrap_or_else(|e| e.into_inner()).path.clone();
            return Err(StoreError::ReadOnly { path }.into());
        }
        let mut st = self.write();
        let mut tx = Tx { base: &st.resources, overlay: BTreeMap::new(), ops: Vec::new() };
        let out = f(&mut tx)?;
        let ops = std::mem::take(&mut tx.ops);
        if ops.is_empty() {
            return Ok(out);
        }
        let seq = st.seq + 1;
        let record = json!({
            "seq": seq,
            "ops": ops.iter().map(|op| match op {
                Op::Put(v) => json!({"put": v}),
                Op::Delete(id) => json!({"delete": id}),
            }).collect::<Vec<_>>(),
        });
        if let Some(j) = &self.inner.journal {
            let mut j = j.lock().unwrap_or_else(|e| e.into_inner());
            j.append(&record)?;
        }
        let ids = ops
            .iter()
            .map(|op| match op {
                Op::Put(v) => v["id"].as_str().unwrap_or_default().to_string(),
                Op::Delete(id) => id.clone(),
            })
            .collect();
        st.apply_delta(&record);
        drop(st);
        // Nobody listening is fine.
        let _ = self.inner.changes.send(Change { seq, ids });
        Ok(out)
    }
}

impl Follower {
    /// Opens the journal at `path` (an absent one reads as empty until it appears) and
    /// applies its complete records to `state`.
    fn open(path: &Path, state: &mut State) -> Result<Follower, StoreError> {
        use std::os::unix::fs::MetadataExt;
        let io = |source| StoreError::Journal { path: path.to_path_buf(), source };
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // A placeholder that never matches a real inode: the next read retries.
                return Ok(Follower {
                    path: path.to_path_buf(),
                    file: File::open("/dev/null").map_err(io)?,
                    ino: 0,
                    reader: Reader::new(),
                    stuck: None,
                });
            }
            Err(e) => return Err(io(e)),
        };
        let ino = file.metadata().map_err(io)?.ino();
        let mut f = Follower { path: path.to_path_buf(), file, ino, reader: Reader::new(), stuck: None };
        f.read_records(state)?;
        Ok(f)
    }

    /// Applies every complete record after the last one applied; a record still being
    /// written stays for the next call. At damage the follower stops (logging it once):
    /// the leader refuses such a journal too, so nothing after it can be trusted.
    fn read_records(&mut self, state: &mut State) -> Result<(), StoreError> {
        let io = |source| StoreError::Journal { path: self.path.clone(), source };
        self.file.seek(SeekFrom::Start(self.reader.offset())).map_err(io)?;
        let mut input = BufReader::new(&self.file);
        loop {
            let next = self
                .reader
                .next(&mut input)
                .map_err(|source| StoreError::Journal { path: self.path.clone(), source })?;
            match next {
                Next::Record(record) => state.apply(&record),
                Next::End | Next::Incomplete(_) => return Ok(()),
                Next::Damaged(damage) | Next::OutOfSequence(_, damage) => {
                    tracing::error!(path = %self.path.display(), %damage, "the journal is damaged; following stops here");
                    self.stuck = Some(damage);
                    return Ok(());
                }
            }
        }
    }
}

impl Journal {
    fn append(&mut self, record: &Value) -> Result<(), StoreError> {
        let line = journal::encode(record);
        let io = |source| StoreError::Journal { path: self.path.clone(), source };
        let len = self.file.metadata().map_err(io)?.len();
        let written = self.file.write_all(&line).and_then(|()| self.file.sync_data());
        if let Err(e) = written {
            // A partial line left here would glue the next record onto it, turning a
            // refused write into damage in the middle of the journal: take it back.
            let _ = self.file.set_len(len);
            return Err(io(e));
        }
        Ok(())
    }
}

fn range_prefix<'a>(map: &'a BTreeMap<String, Value>, prefix: &str) -> impl Iterator<Item = (&'a String, &'a Value)> {
    let prefix = prefix.to_string();
    map.range::<String, _>((Bound::Included(prefix.clone()), Bound::Unbounded))
        .take_while(move |(k, _)| k.starts_with(&prefix))
}

/// A transaction in progress: reads see its own writes.
pub struct Tx<'a> {
    base: &'a BTreeMap<String, Value>,
    overlay: BTreeMap<String, Option<Value>>,
    ops: Vec<Op>,
}

impl Tx<'_> {
    /// The resource with this ID as the transaction sees it.
    pub fn get(&self, id: &ResourceId) -> Option<Value> {
        self.get_key(&id.key())
    }

    /// The resource with this lower-cased key as the transaction sees it.
    pub fn get_key(&self, key: &str) -> Option<Value> {
        self.get_at(key, "")
    }

    /// Part of a resource as the transaction sees it (a JSON pointer, `""` for all).
    pub fn get_at(&self, key: &str, pointer: &str) -> Option<Value> {
        match self.overlay.get(key) {
            Some(v) => v.as_ref().and_then(|v| v.pointer(pointer)).cloned(),
            None => self.base.get(key).and_then(|v| v.pointer(pointer)).cloned(),
        }
    }

    /// Puts a resource; its `id` field names it.
    pub fn put(&mut self, value: Value) {
        let key = value["id"].as_str().unwrap_or_default().to_ascii_lowercase();
        self.overlay.insert(key, Some(value.clone()));
        self.ops.push(Op::Put(value));
    }

    /// Deletes a resource (a no-op if absent).
    pub fn delete(&mut self, id: &ResourceId) {
        self.overlay.insert(id.key(), None);
        self.ops.push(Op::Delete(id.as_str().to_string()));
    }

    /// Resources whose key starts with `prefix`, as the transaction sees them.
    pub fn scan_prefix(&self, prefix: &str) -> Vec<Value> {
        let mut merged: BTreeMap<String, Value> =
            range_prefix(self.base, prefix).map(|(k, v)| (k.clone(), v.clone())).collect();
        for (k, v) in self.overlay.iter().filter(|(k, _)| k.starts_with(prefix)) {
            match v {
                Some(v) => merged.insert(k.clone(), v.clone()),
                None => merged.remove(k),
            };
        }
        merged.into_values().collect()
    }

    /// Every resource (as the transaction sees it) for which `f` holds.
    pub fn filter(&self, mut f: impl FnMut(&Value) -> bool) -> Vec<Value> {
        let mut out: Vec<Value> = self
            .base
            .iter()
            .filter(|(k, _)| !self.overlay.contains_key(*k))
            .map(|(_, v)| v)
            .filter(|v| f(v))
            .cloned()
            .collect();
        out.extend(self.overlay.values().flatten().filter(|v| f(v)).cloned());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(id: &str) -> Value {
        json!({"id": id, "name": "x"})
    }

    #[test]
    fn failed_transaction_changes_nothing() {
        let s = Store::in_memory();
        let r: Result<(), StoreError> = s.transact(|tx| {
            tx.put(res("/subscriptions/s/resourceGroups/a"));
            Ok(())
        });
        r.unwrap();
        let r: Result<(), String> = s.transact(|tx| {
            tx.put(res("/subscriptions/s/resourceGroups/b"));
            Err("no".into())
        });
        assert!(r.is_err());
        assert_eq!(s.len(), 1);
        assert_eq!(s.seq(), 1);
    }

    impl From<StoreError> for String {
        fn from(e: StoreError) -> String {
            e.to_string()
        }
    }

    #[test]
    fn journal_replays_and_cuts_a_torn_record() {
        let dir = tempfile::tempdir().unwrap();
        {
            let s = Store::open(dir.path()).unwrap();
            for name in ["a", "b"] {
                s.transact(|tx| {
                    tx.put(res(&format!("/subscriptions/s/resourceGroups/{name}")));
                    Ok::<_, StoreError>(())
                })
                .unwrap();
            }
            s.transact(|tx| {
                tx.delete(&ResourceId::parse("/subscriptions/s/resourceGroups/A").unwrap());
                Ok::<_, StoreError>(())
            })
            .unwrap();
        }
        // A record torn by a crash mid-write.
        let path = dir.path().join("journal.jsonl");
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(br#"{"seq":4,"ops":[{"put":{"id":"/subscriptions/s/resourceGroups/c""#).unwrap();
        drop(f);
        let s = Store::open(dir.path()).unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!(s.seq(), 3);
        assert!(s.get_key("/subscriptions/s/resourcegroups/b").is_some());
        // The torn tail is gone, so the next record lands on a clean line.
        s.transact(|tx| {
            tx.put(res("/subscriptions/s/resourceGroups/d"));
            Ok::<_, StoreError>(())
        })
        .unwrap();
        drop(s);
        assert_eq!(Store::open(dir.path()).unwrap().len(), 2);
    }

    #[test]
    fn damage_before_the_tail_refuses_the_start_and_leaves_the_file_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        for i in 0..20 {
            put(&s, &format!("g{i}"));
        }
        drop(s);
        let path = dir.path().join(journal::FILE);
        let mut bytes = std::fs::read(&path).unwrap();
        let tenth = bytes.iter().enumerate().filter(|(_, b)| **b == b'\n').nth(8).unwrap().0 + 1;
        bytes[tenth + 40] ^= 0x20;
        std::fs::write(&path, &bytes).unwrap();
        let Err(StoreError::Damaged { damage, .. }) = Store::open(dir.path()) else { panic!("the start is refused") };
        assert_eq!((damage.record, damage.offset), (10, tenth as u64));
        assert!(damage.expected.starts_with("the checksum"), "{damage}");
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "nothing is cut");
    }

    #[test]
    fn a_torn_tail_ending_inside_a_utf8_character_is_cut() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        put(&s, "a");
        drop(s);
        let path = dir.path().join(journal::FILE);
        let good = std::fs::metadata(&path).unwrap().len();
        let line = journal::encode(&json!({"seq": 2, "ops": [{"put": {"id": "/subscriptions/s/resourceGroups/é"}}]}));
        let cut = line.iter().position(|b| *b == 0xc3).unwrap() + 1;
        OpenOptions::new().append(true).open(&path).unwrap().write_all(&line[..cut]).unwrap();
        let s = Store::open(dir.path()).unwrap();
        assert_eq!((s.len(), s.seq()), (1, 1));
        assert_eq!(std::fs::metadata(&path).unwrap().len(), good);
    }

    #[test]
    fn a_journal_without_checksums_opens_and_grows_checksummed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(journal::FILE);
        let legacy: String = (1..=3)
            .map(|i| {
                format!(
                    "{}\n",
                    json!({"seq": i, "ops": [{"put": res(&format!("/subscriptions/s/resourceGroups/l{i}"))}]})
                )
            })
            .collect();
        std::fs::write(&path, &legacy).unwrap();
        let s = Store::open(dir.path()).unwrap();
        assert_eq!((s.len(), s.seq()), (3, 3));
        put(&s, "new");
        drop(s);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with(&legacy));
        assert!(text.lines().last().unwrap().split_once(' ').unwrap().0.len() == 8);
        assert_eq!(Store::open(dir.path()).unwrap().len(), 4);
    }

    #[test]
    fn one_process_writes_a_journal_at_a_time_and_the_directory_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let s = Store::open(&state).unwrap();
        assert!(matches!(Store::open(&state), Err(StoreError::Locked { .. })));
        assert_eq!(std::fs::metadata(&state).unwrap().permissions().mode() & 0o777, 0o700);
        drop(s);
        std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o755)).unwrap();
        Store::open(&state).unwrap();
        assert_eq!(std::fs::metadata(&state).unwrap().permissions().mode() & 0o777, 0o700, "narrowed");
    }

    fn put(s: &Store, name: &str) {
        s.transact(|tx| {
            tx.put(res(&format!("/subscriptions/s/resourceGroups/{name}")));
            Ok::<_, StoreError>(())
        })
        .unwrap();
    }

    #[test]
    fn follower_sees_every_acknowledged_commit_and_refuses_to_write() {
        let dir = tempfile::tempdir().unwrap();
        let early = Store::follow(dir.path()).unwrap();
        assert!(early.is_empty());
        let leader = Store::open(dir.path()).unwrap();
        put(&leader, "a");
        let follower = Store::follow(dir.path()).unwrap();
        assert_eq!((follower.len(), follower.seq()), (1, 1));
        put(&leader, "b");
        assert_eq!((follower.len(), follower.seq()), (2, 2));
        assert_eq!(early.len(), 2, "a follower started before the journal existed");
        let refused: Result<(), StoreError> = follower.transact(|tx| {
            tx.put(res("/subscriptions/s/resourceGroups/c"));
            Ok(())
        });
        assert!(matches!(refused, Err(StoreError::ReadOnly { .. })));
        assert_eq!(leader.len(), 2);
    }

    #[test]
    fn follower_waits_for_a_record_still_being_written() {
        let dir = tempfile::tempdir().unwrap();
        let leader = Store::open(dir.path()).unwrap();
        put(&leader, "a");
        let follower = Store::follow(dir.path()).unwrap();
        let mut f = OpenOptions::new().append(true).open(dir.path().join("journal.jsonl")).unwrap();
        let line =
            journal::encode(&json!({"seq": 2, "ops": [{"put": {"id": "/subscriptions/s/resourceGroups/half"}}]}));
        let (first, rest) = line.split_at(line.len() / 2);
        f.write_all(first).unwrap();
        assert_eq!(follower.seq(), 1);
        f.write_all(rest).unwrap();
        assert_eq!(follower.seq(), 2);
        assert!(follower.get_key("/subscriptions/s/resourcegroups/half").is_some());
    }

    #[test]
    fn reset_empties_leader_and_followers_and_keeps_the_sequence_rising() {
        let dir = tempfile::tempdir().unwrap();
        let leader = Store::open(dir.path()).unwrap();
        put(&leader, "a");
        put(&leader, "b");
        let follower = Store::follow(dir.path()).unwrap();
        assert_eq!(follower.len(), 2);
        leader.reset().unwrap();
        assert_eq!((leader.len(), leader.seq()), (0, 3));
        assert_eq!((follower.len(), follower.seq()), (0, 3));
        put(&leader, "c");
        assert_eq!((follower.len(), follower.seq()), (1, 4));
        drop(leader);
        let reopened = Store::open(dir.path()).unwrap();
        assert_eq!((reopened.len(), reopened.seq()), (1, 4));
        assert!(matches!(follower.reset(), Err(StoreError::ReadOnly { .. })));
    }

    #[test]
    fn derived_values_are_computed_once_per_sequence_number() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static BUILDS: AtomicUsize = AtomicUsize::new(0);
        fn count(s: &Store) -> usize {
            BUILDS.fetch_add(1, Ordering::SeqCst);
            s.len()
        }
        let s = Store::in_memory();
        put(&s, "a");
        assert_eq!(*s.derived(count), 1);
        assert_eq!(*s.derived(count), 1);
        assert_eq!(BUILDS.load(Ordering::SeqCst), 1, "the second read is the cached value");
        put(&s, "b");
        assert_eq!(*s.derived(count), 2, "a commit is seen at once");
        assert_eq!(BUILDS.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn transaction_reads_its_own_writes() {
        let s = Store::in_memory();
        s.transact(|tx| {
            tx.put(res("/subscriptions/s/resourceGroups/a"));
            assert!(tx.get_key("/subscriptions/s/resourcegroups/a").is_some());
            assert_eq!(tx.scan_prefix("/subscriptions/s/").len(), 1);
            tx.delete(&ResourceId::parse("/subscriptions/s/resourceGroups/a").unwrap());
            assert!(tx.scan_prefix("/subscriptions/s/").is_empty());
            Ok::<_, StoreError>(())
        })
        .unwrap();
        assert!(s.is_empty());
    }
}
