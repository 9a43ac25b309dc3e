//! Images: deterministic test images, pushing them into a registry's store directly (for
//! fixtures), and importing a user's image from an OCI image layout directory or a
//! `docker save` archive.
//!
//! Generated images are real: each layer is a valid `tar` holding one file of
//! `layer_size` pseudo-random bytes (from the seed), gzip-wrapped with *stored* (not
//! compressed) deflate blocks — random bytes do not compress, so a compressor would emit
//! the same shape, and this needs no compression library while staying byte-for-byte
//! deterministic. Manifests and configs are OCI (`application/vnd.oci.image.*`); the
//! config's `rootfs.diff_ids` are the digests of the uncompressed tars, so the image
//! loads into a container engine. Same seed, same bytes, same digests.
//!
//! Imports push every blob through the store's verified upload path and every manifest
//! through the same checks as a registry PUT ([`put_manifest_checked`]), so a corrupt
//! layout is refused the way a push would be.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncSeekExt};

use super::api::put_manifest_checked;
use super::errors::{MAX_MANIFEST, RegistryError};
use super::oci::{Digest, Reference, media, valid_tag};
use super::storage::{BlobStore, Repo, StorageError};

/// One piece of content and how a descriptor names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    /// Media type.
    pub media_type: String,
    /// Digest of `bytes`.
    pub digest: Digest,
    /// The content.
    pub bytes: Bytes,
}

impl Blob {
    /// Content with its digest.
    pub fn new(media_type: &str, bytes: impl Into<Bytes>) -> Blob {
        let bytes = bytes.into();
        Blob { media_type: media_type.to_string(), digest: Digest::of(&bytes), bytes }
    }

    /// The OCI descriptor of this blob.
    pub fn descriptor(&self) -> Value {
        json!({"mediaType": self.media_type, "digest": self.digest.as_str(), "size": self.bytes.len()})
    }
}

/// An image: manifest, config and layers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// The image manifest.
    pub manifest: Blob,
    /// The config.
    pub config: Blob,
    /// The layers, base first.
    pub layers: Vec<Blob>,
}

/// A multi-platform image: the index and one image per platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageIndex {
    /// The image index.
    pub index: Blob,
    /// The images it lists, in order.
    pub images: Vec<Image>,
}

/// Why an image could not be pushed or imported.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// The store failed or refused a blob.
    #[error("storing {what}: {source}")]
    Storage {
        /// What was being stored.
        what: String,
        /// The store's error.
        source: StorageError,
    },
    /// The registry refused a manifest.
    #[error("pushing manifest {what}: {source}")]
    Manifest {
        /// Which manifest.
        what: String,
        /// The registry's error.
        source: RegistryError,
    },
    /// A file could not be read.
    #[error("reading {path}: {source}")]
    Io {
        /// The file (inside the layout or archive).
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The layout or archive is not what it claims to be.
    #[error("{path}: {message}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

fn format_err(path: impl Into<PathBuf>, message: impl Into<String>) -> ImageError {
    ImageError::Format { path: path.into(), message: message.into() }
}

// ---------------------------------------------------------------------------------------
// Generation
// ---------------------------------------------------------------------------------------

/// SplitMix64: fast, tiny, and the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn fill(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(8) {
            let v = self.next().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

/// A ustar header for a regular file (mode 0644, owner 0, mtime 0).
fn tar_header(name: &str, size: u64) -> [u8; 512] {
    let mut h = [0u8; 512];
    let n = name.as_bytes();
    h[..n.len().min(100)].copy_from_slice(&n[..n.len().min(100)]);
    h[100..108].copy_from_slice(b"0000644\0");
    h[108..116].copy_from_slice(b"0000000\0");
    h[116..124].copy_from_slice(b"0000000\0");
    h[124..136].copy_from_slice(format!("{size:011o}\0").as_bytes());
    h[136..148].copy_from_slice(b"00000000000\0");
    h[148..156].copy_from_slice(b"        ");
    h[156] = b'0';
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    let sum: u32 = h.iter().map(|b| *b as u32).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    h
}

/// A tar archive of these regular files.
pub(crate) fn tar(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, data) in files {
        out.extend_from_slice(&tar_header(name, data.len() as u64));
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut table = [0u32; 256];
    for (i, t) in table.iter_mut().enumerate() {
        let mut c = i as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
        }
        *t = c;
    }
    !data.iter().fold(!0u32, |c, b| table[((c ^ *b as u32) & 0xff) as usize] ^ (c >> 8))
}

/// gzip of `data` made of stored deflate blocks (RFC 1951 §3.2.4, RFC 1952).
pub(crate) fn gzip_stored(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 65535 * 5 + 32);
    out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
    let mut chunks = data.chunks(65535).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(c) = chunks.next() {
        out.push(if chunks.peek().is_none() { 1 } else { 0 });
        let len = c.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(c);
    }
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

/// A deterministic linux/amd64 image: `layers` layers, each a tar of one file of
/// `layer_size` pseudo-random bytes derived from `seed`.
pub fn generate_image(seed: u64, layers: usize, layer_size: usize) -> Image {
    generate_for(seed, layers, layer_size, "linux", "amd64")
}

/// Like [`generate_image`], for another platform.
pub fn generate_for(seed: u64, layers: usize, layer_size: usize, os: &str, arch: &str) -> Image {
    let mut diff_ids = Vec::new();
    let mut history = Vec::new();
    let mut blobs = Vec::new();
    for i in 0..layers {
        let d = crate::model::net::digest(&["pullsim-layer", &seed.to_string(), &i.to_string(), os, arch]);
        let mut rng = Rng(u64::from_le_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]]));
        let mut content = vec![0u8; layer_size];
        rng.fill(&mut content);
        let t = tar(&[(&format!("pullsim/layer-{i}.bin"), &content)]);
        diff_ids.push(Digest::of(&t).as_str().to_string());
        history.push(
            json!({"created": "1970-01-01T00:00:00Z", "created_by": format!("pullsim: layer {i} of seed {seed}")}),
        );
        blobs.push(Blob::new(media::OCI_LAYER_GZIP, gzip_stored(&t)));
    }
    let config = json!({
        "created": "1970-01-01T00:00:00Z",
        "architecture": arch,
        "os": os,
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": ["/bin/sh"],
            "Labels": {"org.pullsim.seed": seed.to_string()},
        },
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": history,
    });
    let config = Blob::new(media::OCI_CONFIG, config.to_string());
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": media::OCI_MANIFEST,
        "config": config.descriptor(),
        "layers": blobs.iter().map(Blob::descriptor).collect::<Vec<_>>(),
    });
    Image { manifest: Blob::new(media::OCI_MANIFEST, manifest.to_string()), config, layers: blobs }
}

/// A deterministic multi-platform image: one [`generate_for`] image per `(os, arch)`.
pub fn generate_index(seed: u64, platforms: &[(&str, &str)], layers: usize, layer_size: usize) -> ImageIndex {
    let images: Vec<Image> =
        platforms.iter().map(|(os, arch)| generate_for(seed, layers, layer_size, os, arch)).collect();
    let manifests: Vec<Value> = images
        .iter()
        .zip(platforms)
        .map(|(img, (os, arch))| {
            let mut d = img.manifest.descriptor();
            d["platform"] = json!({"architecture": arch, "os": os});
            d
        })
        .collect();
    let index = json!({"schemaVersion": 2, "mediaType": media::OCI_INDEX, "manifests": manifests});
    ImageIndex { index: Blob::new(media::OCI_INDEX, index.to_string()), images }
}

impl Image {
    /// Writes the image as an OCI image layout in `dir`, tagged `tag`.
    pub fn write_oci_layout(&self, dir: &Path, tag: &str) -> std::io::Result<()> {
        let mut blobs = vec![&self.manifest, &self.config];
        blobs.extend(&self.layers);
        write_layout(dir, &blobs, &self.manifest, tag)
    }
}

impl ImageIndex {
    /// Writes the index and its images as an OCI image layout in `dir`, tagged `tag`.
    pub fn write_oci_layout(&self, dir: &Path, tag: &str) -> std::io::Result<()> {
        let mut blobs = vec![&self.index];
        for i in &self.images {
            blobs.push(&i.manifest);
            blobs.push(&i.config);
            blobs.extend(&i.layers);
        }
        write_layout(dir, &blobs, &self.index, tag)
    }
}

fn write_layout(dir: &Path, blobs: &[&Blob], top: &Blob, tag: &str) -> std::io::Result<()> {
    let blob_dir = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blob_dir)?;
    for b in blobs {
        std::fs::write(blob_dir.join(b.digest.hex()), &b.bytes)?;
    }
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#)?;
    let mut d = top.descriptor();
    d["annotations"] = json!({"org.opencontainers.image.ref.name": tag});
    let index = json!({"schemaVersion": 2, "mediaType": media::OCI_INDEX, "manifests": [d]});
    std::fs::write(dir.join("index.json"), index.to_string())
}

// ---------------------------------------------------------------------------------------
// Pushing
// ---------------------------------------------------------------------------------------

async fn push_blob(store: &dyn BlobStore, repo: &Repo, blob: &Blob) -> Result<(), ImageError> {
    let err = |source| ImageError::Storage { what: blob.digest.to_string(), source };
    if store.blob_size(repo, &blob.digest).await.map_err(err)?.is_some() {
        return Ok(());
    }
    let mut s = store.begin_upload(&repo.registry).await.map_err(err)?;
    s.append(&blob.bytes).await.map_err(err)?;
    s.commit(repo, &blob.digest).await.map_err(err)?;
    Ok(())
}

async fn push_manifest(store: &dyn BlobStore, repo: &Repo, m: &Blob, tag: Option<&str>) -> Result<Digest, ImageError> {
    let reference = match tag {
        Some(t) => Reference::Tag(t.to_string()),
        None => Reference::Digest(m.digest.clone()),
    };
    // Already there (a fixture loaded again over a persistent store): nothing to write.
    let err = |source| ImageError::Storage { what: m.digest.to_string(), source };
    if store.get_manifest(repo, &reference).await.map_err(err)?.is_some_and(|s| s.digest == m.digest) {
        return Ok(m.digest.clone());
    }
    put_manifest_checked(store, repo, m.bytes.clone(), Some(&m.media_type), &reference)
        .await
        .map_err(|source| ImageError::Manifest { what: format!("{repo}@{}", m.digest), source })
}

/// Puts an image straight into a registry's store (no HTTP, no auth, no firewall), for
/// fixtures; with `tag`, the tag points at it. Returns the manifest digest.
pub async fn push_image(
    store: &dyn BlobStore,
    repo: &Repo,
    image: &Image,
    tag: Option<&str>,
) -> Result<Digest, ImageError> {
    push_blob(store, repo, &image.config).await?;
    for l in &image.layers {
        push_blob(store, repo, l).await?;
    }
    push_manifest(store, repo, &image.manifest, tag).await
}

/// Puts a multi-platform image straight into a registry's store: each image by digest,
/// then the index (tagged `tag`). Returns the index digest.
pub async fn push_index(
    store: &dyn BlobStore,
    repo: &Repo,
    index: &ImageIndex,
    tag: Option<&str>,
) -> Result<Digest, ImageError> {
    for i in &index.images {
        push_image(store, repo, i, None).await?;
    }
    push_manifest(store, repo, &index.index, tag).await
}

// ---------------------------------------------------------------------------------------
// Importing
// ---------------------------------------------------------------------------------------

/// One manifest an import stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// Its digest.
    pub digest: Digest,
    /// The tag pointing at it, if any.
    pub tag: Option<String>,
    /// Its media type.
    pub media_type: String,
}

/// Where import reads files from: a directory, or a tar archive indexed once.
enum Source {
    Dir(PathBuf),
    Tar { path: PathBuf, entries: HashMap<String, TarEntry> },
}

#[derive(Debug, Clone)]
enum TarEntry {
    File { offset: u64, size: u64 },
    Link(String),
}

fn normalize(name: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for p in name.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

fn octal(field: &[u8]) -> Option<u64> {
    if field.first().is_some_and(|b| b & 0x80 != 0) {
        // GNU base-256 for sizes past 8 GiB.
        let mut v: u64 = (field[0] & 0x7f) as u64;
        for b in &field[1..] {
            v = v.checked_mul(256)?.checked_add(*b as u64)?;
        }
        return Some(v);
    }
    let s = std::str::from_utf8(field).ok()?.trim_matches(|c: char| c == '\0' || c == ' ');
    if s.is_empty() { Some(0) } else { u64::from_str_radix(s, 8).ok() }
}

fn cstr(field: &[u8]) -> String {
    let end = field.iter().position(|b| *b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

/// Reads the headers of a tar archive: regular files and symbolic links by path.
fn index_tar(path: &Path) -> Result<HashMap<String, TarEntry>, ImageError> {
    use std::io::{Read, Seek, SeekFrom};
    let io = |source| ImageError::Io { path: path.to_path_buf(), source };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let total = f.metadata().map_err(io)?.len();
    let mut entries = HashMap::new();
    let mut pos = 0u64;
    let mut long_name: Option<String> = None;
    let mut h = [0u8; 512];
    while pos + 512 <= total {
        f.seek(SeekFrom::Start(pos)).map_err(io)?;
        f.read_exact(&mut h).map_err(io)?;
        if h.iter().all(|b| *b == 0) {
            break;
        }
        let size = octal(&h[124..136]).ok_or_else(|| format_err(path, format!("bad tar header at {pos}")))?;
        let mut name = cstr(&h[0..100]);
        if &h[257..262] == b"ustar" {
            let prefix = cstr(&h[345..500]);
            if !prefix.is_empty() {
                name = format!("{prefix}/{name}");
            }
        }
        if let Some(n) = long_name.take() {
            name = n;
        }
        let data = pos + 512;
        match h[156] {
            b'L' | b'x' => {
                let mut buf = vec![0u8; size.min(1 << 20) as usize];
                f.read_exact(&mut buf).map_err(io)?;
                long_name = if h[156] == b'L' {
                    Some(cstr(&buf))
                } else {
                    String::from_utf8_lossy(&buf).lines().find_map(|l| {
                        l.split_once(' ').and_then(|(_, kv)| kv.strip_prefix("path=")).map(str::to_string)
                    })
                };
            }
            b'0' | 0 | b'7' => {
                entries.insert(normalize(&name), TarEntry::File { offset: data, size });
            }
            b'1' | b'2' => {
                let target = cstr(&h[157..257]);
                // Hard links name the archive path; symbolic links are relative to the entry.
                let resolved = if h[156] == b'1' || target.starts_with('/') {
                    normalize(&target)
                } else {
                    let dir = normalize(&name).rsplit_once('/').map(|(d, _)| d.to_string()).unwrap_or_default();
                    normalize(&format!("{dir}/{target}"))
                };
                entries.insert(normalize(&name), TarEntry::Link(resolved));
            }
            _ => {}
        }
        pos = data + size.div_ceil(512) * 512;
    }
    Ok(entries)
}

impl Source {
    fn display(&self, name: &str) -> PathBuf {
        match self {
            Source::Dir(d) => d.join(name),
            Source::Tar { path, .. } => PathBuf::from(format!("{}:{name}", path.display())),
        }
    }

    fn exists(&self, name: &str) -> bool {
        match self {
            Source::Dir(d) => d.join(name).is_file(),
            Source::Tar { entries, .. } => entries.contains_key(&normalize(name)),
        }
    }

    /// Opens a file: a reader and its size.
    async fn open(&self, name: &str) -> Result<(Box<dyn AsyncRead + Send + Unpin>, u64), ImageError> {
        let shown = self.display(name);
        let io = |source| ImageError::Io { path: shown.clone(), source };
        match self {
            Source::Dir(d) => {
                let f = tokio::fs::File::open(d.join(name)).await.map_err(io)?;
                let size = f.metadata().await.map_err(io)?.len();
                Ok((Box::new(f), size))
            }
            Source::Tar { path, entries } => {
                let mut n = normalize(name);
                for _ in 0..8 {
                    match entries.get(&n) {
                        Some(TarEntry::Link(t)) => n = t.clone(),
                        Some(TarEntry::File { offset, size }) => {
                            let mut f = tokio::fs::File::open(path).await.map_err(io)?;
                            f.seek(std::io::SeekFrom::Start(*offset)).await.map_err(io)?;
                            return Ok((Box::new(f.take(*size)), *size));
                        }
                        None => break,
                    }
                }
                Err(io(std::io::Error::from(std::io::ErrorKind::NotFound)))
            }
        }
    }

    /// Reads a small file (JSON) whole.
    async fn read_small(&self, name: &str) -> Result<Bytes, ImageError> {
        let (mut r, size) = self.open(name).await?;
        if size > MAX_MANIFEST as u64 {
            return Err(format_err(self.display(name), format!("larger than {MAX_MANIFEST} bytes")));
        }
        let mut buf = Vec::with_capacity(size as usize);
        r.read_to_end(&mut buf).await.map_err(|source| ImageError::Io { path: self.display(name), source })?;
        Ok(Bytes::from(buf))
    }

    async fn read_json(&self, name: &str) -> Result<Value, ImageError> {
        let b = self.read_small(name).await?;
        serde_json::from_slice(&b).map_err(|e| format_err(self.display(name), format!("not JSON: {e}")))
    }

    /// Streams a file into the store as one blob; `expected` is checked if given.
    async fn upload(
        &self,
        store: &dyn BlobStore,
        repo: &Repo,
        name: &str,
        expected: Option<&Digest>,
    ) -> Result<(Digest, u64), ImageError> {
        if let Some(d) = expected
            && let Some(size) =
                store.blob_size(repo, d).await.map_err(|source| ImageError::Storage { what: d.to_string(), source })?
        {
            return Ok((d.clone(), size));
        }
        let (mut r, _) = self.open(name).await?;
        let serr = |source| ImageError::Storage { what: self.display(name).display().to_string(), source };
        let mut staging = store.begin_upload(&repo.registry).await.map_err(serr)?;
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = r.read(&mut buf).await.map_err(|source| ImageError::Io { path: self.display(name), source })?;
            if n == 0 {
                break;
            }
            staging.append(&buf[..n]).await.map_err(serr)?;
        }
        let digest = expected.cloned().unwrap_or_else(|| staging.digest());
        let size = staging.commit(repo, &digest).await.map_err(serr)?;
        Ok((digest, size))
    }
}

fn blob_name(d: &Digest) -> String {
    format!("blobs/sha256/{}", d.hex())
}

/// Pushes a manifest named by a layout descriptor, and everything it references, from
/// the layout's `blobs/`.
async fn import_descriptor(
    src: &Source,
    store: &dyn BlobStore,
    repo: &Repo,
    desc: &Value,
    tag: Option<&str>,
    depth: usize,
) -> Result<Imported, ImageError> {
    let digest = desc["digest"]
        .as_str()
        .and_then(Digest::parse)
        .ok_or_else(|| format_err(src.display("index.json"), format!("bad descriptor {desc}")))?;
    if depth > 4 {
        return Err(format_err(src.display("index.json"), "indexes nested too deep"));
    }
    let name = blob_name(&digest);
    let bytes = src.read_small(&name).await?;
    let parsed: Value =
        serde_json::from_slice(&bytes).map_err(|e| format_err(src.display(&name), format!("not JSON: {e}")))?;
    let media_type =
        parsed["mediaType"].as_str().or_else(|| desc["mediaType"].as_str()).unwrap_or(media::OCI_MANIFEST).to_string();
    if media::is_index(&media_type) {
        for child in parsed["manifests"].as_array().into_iter().flatten() {
            let child_digest = child["digest"].as_str().and_then(Digest::parse);
            if child_digest.as_ref().is_some_and(|d| !src.exists(&blob_name(d))) {
                return Err(format_err(
                    src.display(&name),
                    format!("the index lists {} but the layout does not hold it", child["digest"]),
                ));
            }
            Box::pin(import_descriptor(src, store, repo, child, None, depth + 1)).await?;
        }
    } else {
        let mut refs: Vec<&Value> = vec![&parsed["config"]];
        refs.extend(parsed["layers"].as_array().into_iter().flatten());
        for r in refs {
            let Some(d) = r["digest"].as_str().and_then(Digest::parse) else {
                return Err(format_err(src.display(&name), format!("bad descriptor {r}")));
            };
            let foreign =
                r["mediaType"].as_str().is_some_and(|m| m.contains(".foreign.") || m.contains("nondistributable"));
            if foreign && !src.exists(&blob_name(&d)) {
                continue;
            }
            src.upload(store, repo, &blob_name(&d), Some(&d)).await?;
        }
    }
    let blob = Blob { media_type: media_type.clone(), digest: digest.clone(), bytes };
    push_manifest(store, repo, &blob, None).await?;
    if let Some(t) = tag {
        push_manifest(store, repo, &blob, Some(t)).await?;
    }
    Ok(Imported { digest, tag: tag.map(str::to_string), media_type })
}

/// The tag a layout's `index.json` entry carries.
fn layout_tag(desc: &Value) -> Option<String> {
    let a = &desc["annotations"];
    if let Some(t) = a["org.opencontainers.image.ref.name"].as_str().filter(|t| valid_tag(t)) {
        return Some(t.to_string());
    }
    let full = a["io.containerd.image.name"].as_str().or_else(|| a["org.opencontainers.image.ref.name"].as_str())?;
    tag_of(full)
}

/// `registry:5000/app:v1` → `v1`.
fn tag_of(reference: &str) -> Option<String> {
    let last = reference.rsplit('/').next()?;
    last.rsplit_once(':').map(|(_, t)| t.to_string()).filter(|t| valid_tag(t))
}

async fn import_layout(
    src: &Source,
    store: &dyn BlobStore,
    repo: &Repo,
    tag: Option<&str>,
) -> Result<Vec<Imported>, ImageError> {
    let index = src.read_json("index.json").await?;
    let manifests: Vec<Value> = index["manifests"].as_array().cloned().unwrap_or_default();
    if manifests.is_empty() {
        return Err(format_err(src.display("index.json"), "lists no manifest"));
    }
    let chosen: Vec<(Value, Option<String>)> = match tag {
        Some(t) if manifests.len() == 1 => vec![(manifests[0].clone(), Some(t.to_string()))],
        Some(t) => {
            let m = manifests
                .iter()
                .find(|m| layout_tag(m).as_deref() == Some(t))
                .ok_or_else(|| format_err(src.display("index.json"), format!("no manifest tagged '{t}'")))?;
            vec![(m.clone(), Some(t.to_string()))]
        }
        None => manifests.iter().map(|m| (m.clone(), layout_tag(m))).collect(),
    };
    let mut out = Vec::new();
    for (desc, t) in chosen {
        out.push(import_descriptor(src, store, repo, &desc, t.as_deref(), 0).await?);
    }
    Ok(out)
}

/// Imports an OCI image layout directory (`oci-layout`, `index.json`, `blobs/`) into
/// `repo`. With `tag`: the manifest the layout tags so (or its only one), tagged `tag`;
/// without: every manifest, with the tags the layout gives them.
pub async fn import_oci_layout(
    store: &dyn BlobStore,
    dir: &Path,
    repo: &Repo,
    tag: Option<&str>,
) -> Result<Vec<Imported>, ImageError> {
    let src = Source::Dir(dir.to_path_buf());
    if !src.exists("oci-layout") {
        return Err(format_err(dir, "not an OCI image layout (no oci-layout file)"));
    }
    import_layout(&src, store, repo, tag).await
}

/// Imports a `docker save` archive into `repo`: the OCI layout inside it (Docker 25 and
/// later) or its `manifest.json` (older Docker; layers are stored as they are in the
/// archive, uncompressed tars, under an OCI manifest). `tag` as in [`import_oci_layout`];
/// without it, the `RepoTags` tags.
pub async fn import_docker_archive(
    store: &dyn BlobStore,
    archive: &Path,
    repo: &Repo,
    tag: Option<&str>,
) -> Result<Vec<Imported>, ImageError> {
    let path = archive.to_path_buf();
    let entries = tokio::task::spawn_blocking(move || index_tar(&path))
        .await
        .map_err(|e| format_err(archive, format!("indexing failed: {e}")))??;
    let src = Source::Tar { path: archive.to_path_buf(), entries };
    if src.exists("oci-layout") && src.exists("index.json") {
        return import_layout(&src, store, repo, tag).await;
    }
    if !src.exists("manifest.json") {
        return Err(format_err(archive, "not a docker save archive (no manifest.json or index.json)"));
    }
    let list = src.read_json("manifest.json").await?;
    let list = list.as_array().cloned().unwrap_or_default();
    let tags_of = |e: &Value| -> Vec<String> {
        e["RepoTags"].as_array().into_iter().flatten().filter_map(|t| t.as_str().and_then(tag_of)).collect()
    };
    let chosen: Vec<(Value, Vec<String>)> = match tag {
        Some(t) if list.len() == 1 => vec![(list[0].clone(), vec![t.to_string()])],
        Some(t) => {
            let e = list
                .iter()
                .find(|e| tags_of(e).iter().any(|x| x == t))
                .ok_or_else(|| format_err(src.display("manifest.json"), format!("no image tagged '{t}'")))?;
            vec![(e.clone(), vec![t.to_string()])]
        }
        None => list.iter().map(|e| (e.clone(), tags_of(e))).collect(),
    };
    if chosen.is_empty() {
        return Err(format_err(src.display("manifest.json"), "lists no image"));
    }
    let mut out = Vec::new();
    for (entry, tags) in chosen {
        let config_name = entry["Config"]
            .as_str()
            .ok_or_else(|| format_err(src.display("manifest.json"), "an entry has no Config"))?;
        let (config_digest, config_size) = src.upload(store, repo, config_name, None).await?;
        let mut layers = Vec::new();
        for l in entry["Layers"].as_array().into_iter().flatten() {
            let name = l.as_str().ok_or_else(|| format_err(src.display("manifest.json"), "bad Layers entry"))?;
            let (mut r, _) = src.open(name).await?;
            let mut magic = [0u8; 2];
            let gz = r.read_exact(&mut magic).await.is_ok() && magic == [0x1f, 0x8b];
            let (d, size) = src.upload(store, repo, name, None).await?;
            let mt = if gz { media::OCI_LAYER_GZIP } else { media::OCI_LAYER_TAR };
            layers.push(json!({"mediaType": mt, "digest": d.as_str(), "size": size}));
        }
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": media::OCI_MANIFEST,
            "config": {"mediaType": media::OCI_CONFIG, "digest": config_digest.as_str(), "size": config_size},
            "layers": layers,
        });
        let blob = Blob::new(media::OCI_MANIFEST, manifest.to_string());
        let digest = push_manifest(store, repo, &blob, None).await?;
        if tags.is_empty() {
            out.push(Imported { digest: digest.clone(), tag: None, media_type: blob.media_type.clone() });
        }
        for t in tags {
            push_manifest(store, repo, &blob, Some(&t)).await?;
            out.push(Imported { digest: digest.clone(), tag: Some(t), media_type: blob.media_type.clone() });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acr::oci::RepoName;
    use crate::acr::storage::MemoryStore;

    fn repo(name: &str) -> Repo {
        Repo::new("imagesacr", RepoName::parse(name).unwrap()).unwrap()
    }

    #[test]
    fn generated_images_are_deterministic_per_seed() {
        let a = generate_image(7, 2, 1000);
        assert_eq!(a, generate_image(7, 2, 1000));
        assert_ne!(a.manifest.digest, generate_image(8, 2, 1000).manifest.digest);
        assert_eq!(a.layers.len(), 2);
        let idx = generate_index(7, &[("linux", "amd64"), ("linux", "arm64")], 1, 10);
        assert_ne!(idx.images[0].layers[0].digest, idx.images[1].layers[0].digest);
    }

    #[test]
    fn generated_layers_are_valid_gzipped_tars() {
        let img = generate_image(3, 1, 200_000);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("layer.tgz");
        std::fs::write(&p, &img.layers[0].bytes).unwrap();
        let out = std::process::Command::new("tar").arg("-tzf").arg(&p).output().expect("tar is installed");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "pullsim/layer-0.bin");
        // The config's diff_id is the digest of the uncompressed tar.
        let gunzip = std::process::Command::new("gzip").arg("-dc").arg(&p).output().unwrap();
        let config: Value = serde_json::from_slice(&img.config.bytes).unwrap();
        assert_eq!(config["rootfs"]["diff_ids"][0], Digest::of(&gunzip.stdout).as_str());
    }

    #[tokio::test]
    async fn an_oci_layout_round_trips_through_import() {
        let store = MemoryStore::new();
        let idx = generate_index(11, &[("linux", "amd64"), ("linux", "arm64")], 2, 3000);
        let dir = tempfile::tempdir().unwrap();
        idx.write_oci_layout(dir.path(), "v1").unwrap();
        let got = import_oci_layout(&store, dir.path(), &repo("multi"), None).await.unwrap();
        assert_eq!(
            got,
            vec![Imported {
                digest: idx.index.digest.clone(),
                tag: Some("v1".into()),
                media_type: media::OCI_INDEX.into()
            }]
        );
        let m = store.get_manifest(&repo("multi"), &Reference::Tag("v1".into())).await.unwrap().unwrap();
        assert_eq!(m.bytes, idx.index.bytes);
        for img in &idx.images {
            assert!(store.blob_size(&repo("multi"), &img.layers[1].digest).await.unwrap().is_some());
        }
        // A corrupted blob is refused, and the tag is not written.
        let bad = tempfile::tempdir().unwrap();
        let img = generate_image(12, 1, 100);
        img.write_oci_layout(bad.path(), "v2").unwrap();
        std::fs::write(bad.path().join(blob_name(&img.layers[0].digest)), b"tampered").unwrap();
        let e = import_oci_layout(&store, bad.path(), &repo("bad"), None).await.unwrap_err();
        assert!(matches!(e, ImageError::Storage { source: StorageError::DigestMismatch { .. }, .. }), "{e}");
        assert_eq!(store.get_manifest(&repo("bad"), &Reference::Tag("v2".into())).await.unwrap(), None);
        assert!(store.tags(&repo("bad")).await.unwrap().unwrap_or_default().is_empty());
    }

    #[tokio::test]
    async fn a_legacy_docker_save_archive_imports_as_an_oci_manifest() {
        let layer = tar(&[("hello.txt", b"hello")]);
        let config = json!({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [Digest::of(&layer).as_str()]}}).to_string();
        let config_name = format!("{}.json", Digest::of(config.as_bytes()).hex());
        let manifest =
            json!([{"Config": config_name, "RepoTags": ["localhost:5000/team/app:v3"], "Layers": ["abc/layer.tar"]}])
                .to_string();
        let archive = tar(&[
            ("manifest.json", manifest.as_bytes()),
            (&config_name, config.as_bytes()),
            ("abc/layer.tar", &layer),
        ]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.tar");
        std::fs::write(&path, archive).unwrap();
        let store = MemoryStore::new();
        let got = import_docker_archive(&store, &path, &repo("app"), None).await.unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].tag.as_deref(), Some("v3"));
        let m = store.get_manifest(&repo("app"), &Reference::Tag("v3".into())).await.unwrap().unwrap();
        let v: Value = serde_json::from_slice(&m.bytes).unwrap();
        assert_eq!(v["layers"][0]["digest"], Digest::of(&layer).as_str());
        assert_eq!(v["layers"][0]["mediaType"], media::OCI_LAYER_TAR);
        assert_eq!(v["config"]["digest"], Digest::of(config.as_bytes()).as_str());
    }
}
