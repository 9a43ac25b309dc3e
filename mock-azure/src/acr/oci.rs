//! The OCI vocabulary: digests, repository names, tags, references, image references
//! as Docker reads them, media types, and what a manifest refers to. Everything here is
//! a pure function of its input, validated against the grammars of the OCI distribution
//! and image specs, so nothing unchecked reaches the storage (a repository name that
//! passes [`RepoName::parse`] cannot contain `..`, a leading `/` or a `%`, which is what
//! keeps the disk store inside its directory).
//!
//! The one place these rules live: the ACR's API and storage, the App Service worker
//! (image references, manifests) and the scenario loader (repository names and tags in
//! `[registry].images`) all use them. The validators say why with a [`GrammarError`]
//! (`"app".parse::<RepoName>()`, [`validate_tag`], `"sha256:…".parse::<Digest>()`,
//! [`Reference::parse`], [`ImageRef::parse`]).

use std::str::FromStr;

use serde_json::Value;

/// Why a repository name, tag, digest or reference breaks the OCI grammar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrammarError {
    /// An empty repository name.
    #[error("a repository name cannot be empty")]
    EmptyName,
    /// A repository name longer than [`MAX_NAME`].
    #[error("repository name '{name}' has {len} characters; at most {MAX_NAME} are allowed")]
    NameTooLong {
        /// The name.
        name: String,
        /// Its length.
        len: usize,
    },
    /// A path component outside `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
    #[error(
        "'{component}' in repository name '{name}' is not a path component (lower-case letters and digits, joined by '.', '_', '__' or dashes)"
    )]
    BadComponent {
        /// The name.
        name: String,
        /// The offending component.
        component: String,
    },
    /// A tag outside `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`.
    #[error("'{0}' is not a tag (up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-')")]
    BadTag(String),
    /// Not `sha256:` and 64 lower-case hex digits.
    #[error("'{0}' is not a digest (sha256: and 64 lower-case hex digits)")]
    BadDigest(String),
}

/// The media types pullsim's registry knows.
pub mod media {
    /// Docker image manifest, schema 2.
    pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
    /// Docker manifest list (multi-arch).
    pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
    /// Docker schema 1 manifest (unsigned).
    pub const DOCKER_SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+json";
    /// Docker schema 1 manifest (signed).
    pub const DOCKER_SCHEMA1_SIGNED: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";
    /// Docker image configuration.
    pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
    /// Docker gzipped layer.
    pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    /// OCI image manifest.
    pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
    /// OCI image index (multi-arch).
    pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
    /// OCI image configuration.
    pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
    /// OCI uncompressed layer.
    pub const OCI_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
    /// OCI gzipped layer.
    pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

    /// Manifest media types a registry accepts on PUT.
    pub const MANIFESTS: [&str; 6] =
        [DOCKER_MANIFEST, DOCKER_LIST, OCI_MANIFEST, OCI_INDEX, DOCKER_SCHEMA1, DOCKER_SCHEMA1_SIGNED];

    /// Whether this media type is a manifest list / image index.
    pub fn is_index(mt: &str) -> bool {
        mt == DOCKER_LIST || mt == OCI_INDEX
    }

    /// Whether this media type is a schema 1 manifest (which App Service refuses to pull).
    pub fn is_schema1(mt: &str) -> bool {
        mt == DOCKER_SCHEMA1 || mt == DOCKER_SCHEMA1_SIGNED
    }
}

/// A content digest. Only `sha256` is accepted: the OCI spec requires it and allows a
/// registry to refuse other algorithms with `DIGEST_INVALID`, which keeps the
/// content-addressed store to one hash.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest(String);

impl Digest {
    /// Parses `sha256:<64 lowercase hex>`; `None` otherwise (`str::parse` says why).
    pub fn parse(s: &str) -> Option<Digest> {
        s.parse().ok()
    }

    /// The digest of these bytes.
    pub fn of(bytes: &[u8]) -> Digest {
        Digest::from_ring(ring::digest::digest(&ring::digest::SHA256, bytes))
    }

    /// The digest a finished SHA-256 context computed.
    pub fn from_ring(d: ring::digest::Digest) -> Digest {
        let hex: String = d.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        Digest(format!("sha256:{hex}"))
    }

    /// `sha256:<hex>`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 64 hex characters.
    pub fn hex(&self) -> &str {
        &self.0[7..]
    }
}

impl FromStr for Digest {
    type Err = GrammarError;

    fn from_str(s: &str) -> Result<Digest, GrammarError> {
        let hex = s.strip_prefix("sha256:").unwrap_or_default();
        if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            Ok(Digest(s.to_string()))
        } else {
            Err(GrammarError::BadDigest(s.to_string()))
        }
    }
}

impl std::fmt::Display for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Longest repository name the distribution registry accepts.
pub const MAX_NAME: usize = 255;

/// A repository name checked against the OCI grammar:
/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RepoName(String);

impl RepoName {
    /// Parses a repository name; `None` if it breaks the grammar (`str::parse` says why).
    pub fn parse(s: &str) -> Option<RepoName> {
        s.parse().ok()
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for RepoName {
    type Err = GrammarError;

    fn from_str(s: &str) -> Result<RepoName, GrammarError> {
        if s.is_empty() {
            return Err(GrammarError::EmptyName);
        }
        if s.len() > MAX_NAME {
            return Err(GrammarError::NameTooLong { name: s.to_string(), len: s.len() });
        }
        match s.split('/').find(|c| !valid_component(c)) {
            Some(c) => Err(GrammarError::BadComponent { name: s.to_string(), component: c.to_string() }),
            None => Ok(RepoName(s.to_string())),
        }
    }
}

impl std::fmt::Display for RepoName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One path component: alphanumeric runs joined by `.`, `_`, `__` or any run of `-`.
fn valid_component(c: &str) -> bool {
    let b = c.as_bytes();
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        if !(sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-')) {
            return false;
        }
    }
    true
}

/// Checks a tag: `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`.
pub fn validate_tag(s: &str) -> Result<(), GrammarError> {
    let b = s.as_bytes();
    let ok = !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter().all(|x| x.is_ascii_alphanumeric() || matches!(x, b'_' | b'.' | b'-'));
    if ok { Ok(()) } else { Err(GrammarError::BadTag(s.to_string())) }
}

/// Whether `s` is a tag ([`validate_tag`] says why not).
pub fn valid_tag(s: &str) -> bool {
    validate_tag(s).is_ok()
}

/// A manifest reference: a tag or a digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    /// A tag.
    Tag(String),
    /// A digest.
    Digest(Digest),
}

impl Reference {
    /// Parses a reference: anything with a `:` must be a digest
    /// ([`GrammarError::BadDigest`]), anything else a tag ([`GrammarError::BadTag`]).
    pub fn parse(s: &str) -> Result<Reference, GrammarError> {
        if s.contains(':') {
            return s.parse().map(Reference::Digest);
        }
        validate_tag(s).map(|()| Reference::Tag(s.to_string()))
    }
}

impl std::fmt::Display for Reference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reference::Tag(t) => f.write_str(t),
            Reference::Digest(d) => f.write_str(d.as_str()),
        }
    }
}

/// An image reference as Docker reads one from `linuxFxVersion` (`DOCKER|host/repo:tag`):
/// a registry host (Docker Hub's when the first component names none), a repository and
/// a tag or digest. Docker refuses a reference outside its grammar before any request
/// (an upper-case repository first of all); everything else goes to the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// Registry host (`secureacr.azurecr.io`), lower case; `index.docker.io` when none.
    pub host: String,
    /// Repository (`app`, `team/app`; `library/nginx` for a bare Docker Hub name).
    pub repo: String,
    /// What is pulled: the tag (`latest` when none), or the `sha256:` digest when the
    /// reference has one (docker pulls `repo:tag@digest` by digest).
    pub reference: String,
    /// The tag written beside a digest (`repo:tag@digest`), kept only for display.
    pub tag: Option<String>,
}

/// Why a string is no image reference. The last two are docker's own refusals (rule
/// `image.reference`): it says them before sending any request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageRefError {
    /// Empty (after trimming).
    #[error("an image reference cannot be empty")]
    Empty,
    /// Holds whitespace.
    #[error("image reference '{0}' contains whitespace")]
    Whitespace(String),
    /// No repository or no tag/digest after the separator.
    #[error("image reference '{0}' names no repository or no tag")]
    Incomplete(String),
    /// A repository with upper-case letters (docker's `ParseNormalizedNamed`).
    #[error("invalid reference format: repository name ({repo}) must be lowercase")]
    Uppercase {
        /// The repository as written (`library/App` for a bare Docker Hub name).
        repo: String,
    },
    /// Outside the reference grammar otherwise (a bad component, tag or digest).
    #[error("invalid reference format")]
    InvalidFormat {
        /// Which part broke the grammar.
        #[source]
        cause: GrammarError,
    },
}

impl ImageRefError {
    /// Whether docker itself refuses the reference (an outcome of the pull, not a
    /// configuration pullsim cannot read).
    pub fn is_docker_refusal(&self) -> bool {
        matches!(self, ImageRefError::Uppercase { .. } | ImageRefError::InvalidFormat { .. })
    }
}

impl ImageRef {
    /// Parses `host/repo[:tag][@digest]` or a Docker Hub `repo[:tag]` as docker does: a
    /// first component with a `.` or `:`, or `localhost`, is a host; with a digest the
    /// tag is ignored; the repository must be lower case and follow the OCI grammar.
    pub fn parse(s: &str) -> Result<ImageRef, ImageRefError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(ImageRefError::Empty);
        }
        if s.contains(char::is_whitespace) {
            return Err(ImageRefError::Whitespace(s.to_string()));
        }
        let (named, digest) = match s.split_once('@') {
            Some((n, d)) => (n, Some(d)),
            None => (s, None),
        };
        // A tag is what follows the last ':' after the last '/' (a host may have a port).
        let (name, tag) = match named.rsplit_once(':') {
            Some((n, t)) if !t.contains('/') => (n, Some(t)),
            _ => (named, None),
        };
        let (host, repo) = match name.split_once('/') {
            Some((h, r)) if h.contains('.') || h.contains(':') || h == "localhost" => {
                (h.to_ascii_lowercase(), r.to_string())
            }
            _ => (
                "index.docker.io".to_string(),
                if name.contains('/') { name.to_string() } else { format!("library/{name}") },
            ),
        };
        if repo.is_empty() || tag == Some("") || digest == Some("") {
            return Err(ImageRefError::Incomplete(s.to_string()));
        }
        if repo.to_ascii_lowercase() != repo {
            return Err(ImageRefError::Uppercase { repo });
        }
        let invalid = |cause| ImageRefError::InvalidFormat { cause };
        repo.parse::<RepoName>().map_err(invalid)?;
        if let Some(t) = tag {
            validate_tag(t).map_err(invalid)?;
        }
        let reference = match digest {
            Some(d) => d.parse::<Digest>().map_err(invalid)?.to_string(),
            None => tag.unwrap_or("latest").to_string(),
        };
        let tag = tag.filter(|_| digest.is_some()).map(str::to_string);
        Ok(ImageRef { host, repo, reference, tag })
    }
}

impl std::fmt::Display for ImageRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.tag {
            Some(tag) => write!(f, "{}/{}:{tag}@{}", self.host, self.repo, self.reference),
            None if self.reference.starts_with("sha256:") => {
                write!(f, "{}/{}@{}", self.host, self.repo, self.reference)
            }
            None => write!(f, "{}/{}:{}", self.host, self.repo, self.reference),
        }
    }
}

/// A content descriptor inside a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    /// Media type.
    pub media_type: String,
    /// Digest.
    pub digest: Digest,
    /// Declared size in bytes.
    pub size: u64,
    /// `platform.os/platform.architecture[/variant]` for index entries.
    pub platform: Option<String>,
    /// Foreign (non-distributable) content the registry does not hold.
    pub foreign: bool,
}

impl Descriptor {
    /// Whether an index entry is for this OS and architecture (any variant).
    pub fn is_platform(&self, os: &str, architecture: &str) -> bool {
        self.platform.as_deref().is_some_and(|p| {
            let mut parts = p.split('/');
            parts.next() == Some(os) && parts.next() == Some(architecture)
        })
    }
}

/// What a manifest refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Manifest {
    /// An image manifest (Docker schema 2 or OCI): a config and layers.
    Image {
        /// Config descriptor.
        config: Descriptor,
        /// Layer descriptors.
        layers: Vec<Descriptor>,
    },
    /// A manifest list / image index: manifests per platform.
    Index {
        /// Child manifests.
        manifests: Vec<Descriptor>,
    },
    /// A Docker schema 1 manifest: stored and served with its media type so that a
    /// client (the App Service worker) can recognise and refuse it.
    Schema1 {
        /// `fsLayers[].blobSum`.
        blobs: Vec<Digest>,
    },
}

/// A manifest that parsed: its media type and references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedManifest {
    /// The media type (from the body's `mediaType`, else the request's `Content-Type`).
    pub media_type: String,
    /// What it refers to.
    pub manifest: Manifest,
}

/// Why a manifest was refused (the detail of `MANIFEST_INVALID`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    /// Not a JSON object.
    #[error("manifest is not a JSON object")]
    NotJson,
    /// The media type is none a registry stores as a manifest.
    #[error("unknown manifest media type '{0}'")]
    UnknownMediaType(String),
    /// `mediaType` in the body and `Content-Type` disagree.
    #[error("manifest mediaType '{body}' does not match Content-Type '{header}'")]
    MediaTypeMismatch {
        /// From the body.
        body: String,
        /// From the header.
        header: String,
    },
    /// A required field is missing or malformed.
    #[error("invalid field {0}")]
    Field(String),
}

/// Parses and validates a manifest body. `content_type` is the request's header (its
/// parameters stripped); `application/json`, `*/*` or none means "look at the body".
pub fn parse_manifest(bytes: &[u8], content_type: Option<&str>) -> Result<ParsedManifest, ManifestError> {
    let v: Value = serde_json::from_slice(bytes).map_err(|_| ManifestError::NotJson)?;
    if !v.is_object() {
        return Err(ManifestError::NotJson);
    }
    let header = content_type
        .map(|c| c.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
        .filter(|c| !c.is_empty() && c != "application/json" && c != "*/*" && c != "application/octet-stream");
    let body_mt = match v.get("mediaType") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(ManifestError::Field("mediaType".into())),
    };
    let media_type = match (body_mt, header) {
        (Some(b), Some(h)) if b != h => return Err(ManifestError::MediaTypeMismatch { body: b, header: h }),
        (Some(b), _) => b,
        (None, Some(h)) => h,
        // Neither says: the OCI image spec's own shapes (mediaType is optional there).
        (None, None) if v["schemaVersion"] == 1 => media::DOCKER_SCHEMA1.to_string(),
        (None, None) if v.get("manifests").is_some() => media::OCI_INDEX.to_string(),
        (None, None) => media::OCI_MANIFEST.to_string(),
    };
    if !media::MANIFESTS.contains(&media_type.as_str()) {
        return Err(ManifestError::UnknownMediaType(media_type));
    }
    let manifest = if media::is_schema1(&media_type) {
        if v["schemaVersion"] != 1 {
            return Err(ManifestError::Field("schemaVersion".into()));
        }
        let layers = v["fsLayers"].as_array().ok_or_else(|| ManifestError::Field("fsLayers".into()))?;
        let blobs = layers
            .iter()
            .map(|l| l["blobSum"].as_str().and_then(Digest::parse))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| ManifestError::Field("fsLayers[].blobSum".into()))?;
        Manifest::Schema1 { blobs }
    } else {
        if v["schemaVersion"] != 2 {
            return Err(ManifestError::Field("schemaVersion".into()));
        }
        if media::is_index(&media_type) {
            let list = v["manifests"].as_array().ok_or_else(|| ManifestError::Field("manifests".into()))?;
            let manifests = list
                .iter()
                .enumerate()
                .map(|(i, d)| descriptor(d, &format!("manifests[{i}]")))
                .collect::<Result<Vec<_>, _>>()?;
            Manifest::Index { manifests }
        } else {
            let config = descriptor(&v["config"], "config")?;
            let list = v["layers"].as_array().ok_or_else(|| ManifestError::Field("layers".into()))?;
            let layers = list
                .iter()
                .enumerate()
                .map(|(i, d)| descriptor(d, &format!("layers[{i}]")))
                .collect::<Result<Vec<_>, _>>()?;
            Manifest::Image { config, layers }
        }
    };
    Ok(ParsedManifest { media_type, manifest })
}

fn descriptor(d: &Value, at: &str) -> Result<Descriptor, ManifestError> {
    let bad = |f: &str| ManifestError::Field(format!("{at}.{f}"));
    let media_type = d["mediaType"].as_str().ok_or_else(|| bad("mediaType"))?.to_string();
    let digest = d["digest"].as_str().and_then(Digest::parse).ok_or_else(|| bad("digest"))?;
    let size = d["size"].as_u64().ok_or_else(|| bad("size"))?;
    let platform = d["platform"].as_object().map(|p| {
        let mut s = format!(
            "{}/{}",
            p.get("os").and_then(Value::as_str).unwrap_or_default(),
            p.get("architecture").and_then(Value::as_str).unwrap_or_default()
        );
        if let Some(variant) = p.get("variant").and_then(Value::as_str) {
            s.push('/');
            s.push_str(variant);
        }
        s
    });
    // Foreign layers (Windows base layers) live elsewhere; a registry does not hold them.
    let foreign = media_type.contains(".foreign.") || media_type.contains("nondistributable");
    Ok(Descriptor { media_type, digest, size, platform, foreign })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_names_follow_the_oci_grammar_and_cannot_escape() {
        for ok in ["app", "a/b/c", "my-app", "my--app", "a.b", "a_b", "a__b", "0", "team/app.v2"] {
            assert!(RepoName::parse(ok).is_some(), "{ok}");
        }
        for bad in [
            "", "..", "../etc", "a/../b", "a/./b", "/a", "a/", "a//b", "A", "a..b", "a___b", "-a", "a-", "_a",
            "%2e%2e", "a\\b", "a b", "a\0b",
        ] {
            assert!(RepoName::parse(bad).is_none(), "{bad:?}");
        }
        assert!(RepoName::parse(&"a".repeat(256)).is_none());
        assert_eq!(
            "team/A".parse::<RepoName>(),
            Err(GrammarError::BadComponent { name: "team/A".into(), component: "A".into() })
        );
        assert_eq!("".parse::<RepoName>(), Err(GrammarError::EmptyName));
    }

    #[test]
    fn image_references_parse_like_docker() {
        let i = ImageRef::parse("secureacr.azurecr.io/team/app:v1").unwrap();
        assert_eq!(
            (i.host.as_str(), i.repo.as_str(), i.reference.as_str()),
            ("secureacr.azurecr.io", "team/app", "v1")
        );
        let i = ImageRef::parse("nginx").unwrap();
        assert_eq!(
            (i.host.as_str(), i.repo.as_str(), i.reference.as_str()),
            ("index.docker.io", "library/nginx", "latest")
        );
        let d = format!("sha256:{}", "ab".repeat(32));
        let i = ImageRef::parse(&format!("reg.azurecr.io/app@{d}")).unwrap();
        assert_eq!((i.repo.as_str(), i.reference.as_str(), i.tag), ("app", d.as_str(), None));
        assert_eq!(
            ImageRef::parse("reg.azurecr.io/app@sha256:abc"),
            Err(ImageRefError::InvalidFormat { cause: GrammarError::BadDigest("sha256:abc".into()) })
        );
        assert_eq!(ImageRef::parse(" "), Err(ImageRefError::Empty));
        assert!(matches!(ImageRef::parse("a b"), Err(ImageRefError::Whitespace(_))));
    }

    #[test]
    fn a_tag_beside_a_digest_is_ignored_and_the_digest_pulled() {
        let d = format!("sha256:{}", "0f".repeat(32));
        let i = ImageRef::parse(&format!("reg.azurecr.io:443/team/app:v1@{d}")).unwrap();
        assert_eq!((i.host.as_str(), i.repo.as_str()), ("reg.azurecr.io:443", "team/app"));
        assert_eq!((i.reference.as_str(), i.tag.as_deref()), (d.as_str(), Some("v1")));
        assert_eq!(i.to_string(), format!("reg.azurecr.io:443/team/app:v1@{d}"));
    }

    #[test]
    fn an_upper_case_repository_is_refused_with_dockers_words() {
        let e = ImageRef::parse("reg.azurecr.io/App:v1").unwrap_err();
        assert_eq!(e.to_string(), "invalid reference format: repository name (App) must be lowercase");
        assert!(e.is_docker_refusal());
        let e = ImageRef::parse("App:v1").unwrap_err();
        assert_eq!(e.to_string(), "invalid reference format: repository name (library/App) must be lowercase");
        let e = ImageRef::parse("reg.azurecr.io/app:-v1").unwrap_err();
        assert_eq!(e.to_string(), "invalid reference format");
        assert!(!ImageRefError::Empty.is_docker_refusal());
    }

    #[test]
    fn tags_are_validated_with_a_reason() {
        assert_eq!(validate_tag("v1.0-rc_1"), Ok(()));
        assert_eq!(validate_tag("-x"), Err(GrammarError::BadTag("-x".into())));
        assert!(!valid_tag(&"a".repeat(129)));
    }

    #[test]
    fn digests_are_sha256_lowercase_hex_only() {
        let d = Digest::of(b"x");
        assert_eq!(Digest::parse(d.as_str()), Some(d.clone()));
        assert!(Digest::parse(&d.as_str().to_uppercase()).is_none());
        assert!(Digest::parse("sha512:abc").is_none());
        assert!(Digest::parse("sha256:abc").is_none());
        assert_eq!(Reference::parse("sha256:zz"), Err(GrammarError::BadDigest("sha256:zz".into())));
        assert_eq!(Reference::parse("v1.0"), Ok(Reference::Tag("v1.0".into())));
        assert_eq!(Reference::parse(".hidden"), Err(GrammarError::BadTag(".hidden".into())));
    }

    #[test]
    fn manifests_parse_by_media_type_and_unknown_ones_are_refused() {
        let d = Digest::of(b"c");
        let m = serde_json::json!({"schemaVersion": 2, "mediaType": media::DOCKER_MANIFEST,
            "config": {"mediaType": media::DOCKER_CONFIG, "digest": d.as_str(), "size": 1}, "layers": []});
        let p = parse_manifest(m.to_string().as_bytes(), Some(media::DOCKER_MANIFEST)).unwrap();
        assert!(matches!(p.manifest, Manifest::Image { .. }));
        assert!(matches!(
            parse_manifest(m.to_string().as_bytes(), Some(media::OCI_MANIFEST)),
            Err(ManifestError::MediaTypeMismatch { .. })
        ));
        assert!(matches!(
            parse_manifest(b"{\"schemaVersion\":2}", Some("application/x-nope")),
            Err(ManifestError::UnknownMediaType(_))
        ));
        assert_eq!(parse_manifest(b"[]", None), Err(ManifestError::NotJson));
    }
}
