//! ACR's own REST API on the login server, `/acr/v1/` — what `az acr repository
//! show-tags/show-manifests/show/update/untag/delete` and `az acr manifest list-metadata`
//! call (Azure's "Container Registry" data-plane REST reference: Repository, Tag and
//! Manifests operations):
//!
//! ```text
//! GET                 /acr/v1/_catalog[?n&last]                 {"repositories": [...]}
//! GET|PATCH|DELETE    /acr/v1/{repo}                            attributes; delete → 202
//! GET                 /acr/v1/{repo}/_tags[?n&last&orderby]     {"registry","imageName","tags": [...]}
//! GET|PATCH|DELETE    /acr/v1/{repo}/_tags/{tag}                {"registry","imageName","tag": {...}}
//! GET                 /acr/v1/{repo}/_manifests[?n&last&orderby]
//! GET|PATCH|DELETE    /acr/v1/{repo}/_manifests/{digest}        {"registry","imageName","manifest": {...}}
//! ```
//!
//! A repository name may hold slashes (`team/app`): the path splits at the last `/_tags`
//! or `/_manifests`, which no repository component can start with. Pages end with a
//! `Link: <…?last=…&n=…>; rel="next"` header as the distribution API's do; `orderby` is
//! `timedesc` or `timeasc` (by `lastUpdateTime`), else names (digests) in order. Times
//! come from the content store ([`BlobStore::manifest_times`]); a store that keeps none
//! leaves them out. The firewall and authorization run before any of this (`api.rs`),
//! with the scopes `az` asks for: `registry:catalog:*`, `repository:R:metadata_read`,
//! `…:metadata_write`, `…:delete`.

use std::collections::BTreeMap;
use std::time::SystemTime;

use bytes::Bytes;
use http::Method;
use http::request::Parts;
use serde_json::{Map, Value, json};
use tokio::io::AsyncReadExt;

use super::Acr;
use super::auth::{Action, Need};
use super::body::Body;
use super::errors::RegistryError;
use super::oci::{Digest, Manifest, Reference, RepoName, parse_manifest, valid_tag};
use super::respond::{MAX_FORM, Read, builder, finish, internal, json_response, read_limited};
use super::storage::{Changeable, Item, Repo, Times};
use crate::model::view::Registry;

/// The path prefix of ACR's own API.
pub const PREFIX: &str = "/acr/v1/";

/// Largest config blob read for `architecture` and `os`.
const MAX_CONFIG: u64 = 1 << 20;

/// What an `/acr/v1/` path addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum V1Route {
    /// `_catalog`.
    Catalog,
    /// `{repo}`.
    Repository(RepoName),
    /// `{repo}/_tags`.
    Tags(RepoName),
    /// `{repo}/_tags/{tag}`.
    Tag(RepoName, String),
    /// `{repo}/_manifests`.
    Manifests(RepoName),
    /// `{repo}/_manifests/{digest}`.
    Manifest(RepoName, Digest),
}

fn repo_name(s: &str) -> Result<RepoName, RegistryError> {
    RepoName::parse(s).ok_or_else(|| RegistryError::name_invalid(s))
}

/// Parses a path of ACR's API; `None` if it is not one (not percent-decoded: a `%2e%2e`
/// is not a name).
pub fn parse(path: &str) -> Option<Result<V1Route, RegistryError>> {
    let rest = path.strip_prefix(PREFIX).or_else(|| (path == "/acr/v1").then_some(""))?;
    Some(parse_rest(path, rest))
}

fn parse_rest(path: &str, rest: &str) -> Result<V1Route, RegistryError> {
    if rest == "_catalog" {
        return Ok(V1Route::Catalog);
    }
    // `_deleted/…` (soft delete) and anything else starting with `_` is no route here.
    if rest.is_empty() || rest.starts_with('_') {
        return Err(RegistryError::not_found(path));
    }
    if let Some(name) = rest.strip_suffix("/_tags") {
        return Ok(V1Route::Tags(repo_name(name)?));
    }
    if let Some((name, tag)) = rest.rsplit_once("/_tags/")
        && !tag.contains('/')
    {
        let name = repo_name(name)?;
        if !valid_tag(tag) {
            return Err(RegistryError::tag_invalid(tag));
        }
        return Ok(V1Route::Tag(name, tag.to_string()));
    }
    if let Some(name) = rest.strip_suffix("/_manifests") {
        return Ok(V1Route::Manifests(repo_name(name)?));
    }
    if let Some((name, digest)) = rest.rsplit_once("/_manifests/")
        && !digest.contains('/')
    {
        let name = repo_name(name)?;
        let d = Digest::parse(digest)
            .ok_or_else(|| RegistryError::digest_invalid(&format!("invalid digest '{digest}'")))?;
        return Ok(V1Route::Manifest(name, d));
    }
    Ok(V1Route::Repository(repo_name(rest)?))
}

/// What a request on a route needs of the caller's token.
pub fn need(route: &V1Route, method: &Method) -> Result<Need, RegistryError> {
    let action = if method == Method::GET {
        Action::MetadataRead
    } else if method == Method::PATCH {
        Action::MetadataWrite
    } else if method == Method::DELETE {
        Action::Delete
    } else {
        return Err(RegistryError::unsupported(&format!("{method} is not supported here")));
    };
    match route {
        V1Route::Catalog if action == Action::MetadataRead => Ok(Need::Catalog),
        V1Route::Tags(r) | V1Route::Manifests(r) if action == Action::MetadataRead => Ok(Need::Repo(r.clone(), action)),
        V1Route::Repository(r) | V1Route::Tag(r, _) | V1Route::Manifest(r, _) => Ok(Need::Repo(r.clone(), action)),
        _ => Err(RegistryError::unsupported(&format!("{method} is not supported here"))),
    }
}

/// A time as ACR writes it: RFC 3339 in UTC with seven decimals (`2020-12-11T08:57:56.2070002Z`).
pub fn stamp(t: SystemTime) -> String {
    let t = time::OffsetDateTime::from(t);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:07}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.nanosecond() / 100
    )
}

fn put_times(o: &mut Map<String, Value>, t: Option<Times>) {
    if let Some(t) = t {
        o.insert("createdTime".into(), json!(stamp(t.created)));
        o.insert("lastUpdateTime".into(), json!(stamp(t.updated)));
    }
}

/// The order of a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    Name,
    TimeDesc,
    TimeAsc,
}

impl Order {
    fn parse(v: Option<&str>) -> Result<Order, RegistryError> {
        match v {
            None | Some("") => Ok(Order::Name),
            Some("timedesc") => Ok(Order::TimeDesc),
            Some("timeasc") => Ok(Order::TimeAsc),
            Some(other) => Err(RegistryError::parameter_invalid("orderby", other)),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Order::Name => "",
            Order::TimeDesc => "timedesc",
            Order::TimeAsc => "timeasc",
        }
    }
}

/// One listed item: its name (tag, digest, repository), when it last changed, its JSON.
struct Listed {
    key: String,
    updated: Option<SystemTime>,
    value: Value,
}

/// Orders a listing and cuts the page `n`/`last`/`orderby` ask for; the `Link` of the
/// next page (on `base`) if there is one.
fn paged(
    mut items: Vec<Listed>,
    query: &[(String, String)],
    base: &str,
) -> Result<(Vec<Value>, Option<String>), RegistryError> {
    let get = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let order = Order::parse(get("orderby"))?;
    let n = match get("n") {
        None | Some("") => None,
        Some(v) => Some(v.parse::<usize>().map_err(|_| RegistryError::pagination_invalid(v))?),
    };
    match order {
        Order::Name => items.sort_by(|a, b| a.key.cmp(&b.key)),
        Order::TimeDesc => items.sort_by(|a, b| b.updated.cmp(&a.updated).then_with(|| a.key.cmp(&b.key))),
        Order::TimeAsc => items.sort_by(|a, b| a.updated.cmp(&b.updated).then_with(|| a.key.cmp(&b.key))),
    }
    if let Some(last) = get("last").filter(|l| !l.is_empty()) {
        items = match order {
            Order::Name => items.into_iter().filter(|i| i.key.as_str() > last).collect(),
            // By time, `last` is a position: the page goes on after it.
            _ => match items.iter().position(|i| i.key == last) {
                Some(p) => items.split_off(p + 1),
                None => items,
            },
        };
    }
    let mut next = None;
    if let Some(n) = n
        && items.len() > n
    {
        items.truncate(n);
        if let Some(last) = items.last() {
            let orderby = match order {
                Order::Name => String::new(),
                o => format!("&orderby={}", o.as_str()),
            };
            next = Some(format!("<{base}?last={}&n={n}{orderby}>; rel=\"next\"", last.key));
        }
    }
    Ok((items.into_iter().map(|i| i.value).collect(), next))
}

fn listing(body: Value, next: Option<String>) -> http::Response<Body> {
    let mut b = builder(200).header("content-type", "application/json; charset=utf-8");
    if let Some(link) = next {
        b = b.header("link", link);
    }
    finish(b, Body::bytes(body.to_string()))
}

/// The attributes a `PATCH` body asks for, on top of the current ones.
fn patched(current: Changeable, body: &[u8]) -> Result<Changeable, RegistryError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| RegistryError::attributes_invalid(&e.to_string()))?;
    let Value::Object(o) = v else {
        return Err(RegistryError::attributes_invalid("the body is not a JSON object"));
    };
    let mut out = current;
    for (key, slot) in [
        ("deleteEnabled", &mut out.delete_enabled),
        ("writeEnabled", &mut out.write_enabled),
        ("readEnabled", &mut out.read_enabled),
        ("listEnabled", &mut out.list_enabled),
    ] {
        match o.get(key) {
            None => {}
            Some(Value::Bool(b)) => *slot = *b,
            Some(other) => {
                return Err(RegistryError::attributes_invalid(&format!("'{key}' is {other}, not a boolean")));
            }
        }
    }
    Ok(out)
}

/// What a manifest's record in `/acr/v1/` says, read from the store.
struct ManifestFacts {
    media_type: String,
    size: Option<u64>,
    config_media_type: Option<String>,
    platform: Option<(String, String)>,
}

impl Acr {
    /// Answers an authorized request of ACR's own API on `registry`.
    pub(super) async fn acr_v1<B>(
        &self,
        registry: &Registry,
        route: V1Route,
        query: &[(String, String)],
        parts: &Parts,
        body: &mut B,
    ) -> Result<http::Response<Body>, RegistryError>
    where
        B: hyper::body::Body<Data = Bytes> + Send + Unpin,
    {
        let reg_name = registry.name_lower();
        let blobs = self.blobs().as_ref();
        let repositories = blobs.repositories(&reg_name).await.map_err(|e| internal(&e))?;
        let repo_of = |name: &RepoName| {
            if !repositories.iter().any(|r| r == name.as_str()) {
                return Err(RegistryError::name_unknown(name.as_str()));
            }
            Repo::new(&reg_name, name.clone()).ok_or_else(|| RegistryError::registry_unknown(&reg_name))
        };
        let head = |name: &RepoName| json!({"registry": registry.login_server, "imageName": name.as_str()});
        let method = &parts.method;
        match route {
            V1Route::Catalog => {
                let items =
                    repositories.iter().map(|r| Listed { key: r.clone(), updated: None, value: json!(r) }).collect();
                let (page, next) = paged(items, query, "/acr/v1/_catalog")?;
                Ok(listing(json!({ "repositories": page }), next))
            }
            V1Route::Repository(name) => {
                let repo = repo_of(&name)?;
                if *method == Method::DELETE {
                    let digests = self.digests(&repo).await?;
                    let tags = blobs.tags(&repo).await.map_err(|e| internal(&e))?.unwrap_or_default();
                    blobs.delete_repository(&repo).await.map_err(|e| internal(&e))?;
                    return Ok(json_response(
                        202,
                        &json!({
                            "manifestsDeleted": digests.iter().map(Digest::as_str).collect::<Vec<_>>(),
                            "tagsDeleted": tags,
                        }),
                    ));
                }
                if *method == Method::PATCH {
                    self.patch(&repo, &Item::Repository, body).await?;
                }
                Ok(json_response(200, &self.repository_json(registry, &repo).await?))
            }
            V1Route::Tags(name) => {
                let repo = repo_of(&name)?;
                let mut items = Vec::new();
                for t in blobs.tags(&repo).await.map_err(|e| internal(&e))?.unwrap_or_default() {
                    if let Some((value, updated)) = self.tag_json(&repo, &t).await? {
                        items.push(Listed { key: t, updated, value });
                    }
                }
                let (page, next) = paged(items, query, &format!("/acr/v1/{name}/_tags"))?;
                let mut out = head(&name);
                out["tags"] = json!(page);
                Ok(listing(out, next))
            }
            V1Route::Tag(name, tag) => {
                let repo = repo_of(&name)?;
                if self.tag_json(&repo, &tag).await?.is_none() {
                    return Err(RegistryError::tag_unknown(&tag));
                }
                if *method == Method::DELETE {
                    blobs.delete_manifest(&repo, &Reference::Tag(tag)).await.map_err(|e| internal(&e))?;
                    return Ok(finish(builder(202).header("content-length", "0"), Body::empty()));
                }
                if *method == Method::PATCH {
                    self.patch(&repo, &Item::Tag(tag.clone()), body).await?;
                }
                let (value, _) = self.tag_json(&repo, &tag).await?.ok_or_else(|| RegistryError::tag_unknown(&tag))?;
                let mut out = head(&name);
                out["tag"] = value;
                Ok(json_response(200, &out))
            }
            V1Route::Manifests(name) => {
                let repo = repo_of(&name)?;
                let tags_by = self.tags_by_digest(&repo).await?;
                let mut items = Vec::new();
                for d in self.digests(&repo).await? {
                    if let Some((value, updated)) = self.manifest_json(&repo, &d, &tags_by).await? {
                        items.push(Listed { key: d.as_str().to_string(), updated, value });
                    }
                }
                let (page, next) = paged(items, query, &format!("/acr/v1/{name}/_manifests"))?;
                let mut out = head(&name);
                out["manifests"] = json!(page);
                Ok(listing(out, next))
            }
            V1Route::Manifest(name, digest) => {
                let repo = repo_of(&name)?;
                let unknown = || RegistryError::manifest_unknown(digest.as_str());
                let tags_by = self.tags_by_digest(&repo).await?;
                if self.manifest_json(&repo, &digest, &tags_by).await?.is_none() {
                    return Err(unknown());
                }
                if *method == Method::DELETE {
                    let reference = Reference::Digest(digest.clone());
                    if !blobs.delete_manifest(&repo, &reference).await.map_err(|e| internal(&e))? {
                        return Err(unknown());
                    }
                    return Ok(finish(builder(202).header("content-length", "0"), Body::empty()));
                }
                if *method == Method::PATCH {
                    self.patch(&repo, &Item::Manifest(digest.clone()), body).await?;
                }
                let (value, _) = self.manifest_json(&repo, &digest, &tags_by).await?.ok_or_else(unknown)?;
                let mut out = head(&name);
                out["manifest"] = value;
                Ok(json_response(200, &out))
            }
        }
    }

    /// Applies a `PATCH` body to an item's attributes.
    async fn patch<B>(&self, repo: &Repo, item: &Item, body: &mut B) -> Result<(), RegistryError>
    where
        B: hyper::body::Body<Data = Bytes> + Send + Unpin,
    {
        let bytes = match read_limited(body, MAX_FORM).await {
            Read::Done(b) => b,
            Read::TooLarge => return Err(RegistryError::too_large(MAX_FORM)),
            Read::Broken => return Err(RegistryError::attributes_invalid("the body did not arrive whole")),
        };
        let blobs = self.blobs().as_ref();
        let current = blobs.attributes(repo, item).await.map_err(|e| internal(&e))?;
        let wanted = patched(current, &bytes)?;
        if !blobs.set_attributes(repo, item, wanted).await.map_err(|e| internal(&e))? {
            return Err(RegistryError::unsupported("changing attributes in this content store"));
        }
        Ok(())
    }

    /// The manifests of a repository: every one the store lists, or (a store that cannot
    /// list them) those its tags point at.
    async fn digests(&self, repo: &Repo) -> Result<Vec<Digest>, RegistryError> {
        let blobs = self.blobs().as_ref();
        if let Some(all) = blobs.manifest_digests(repo).await.map_err(|e| internal(&e))? {
            return Ok(all);
        }
        let mut out: Vec<Digest> = self.tags_by_digest(repo).await?.into_keys().collect();
        out.sort();
        Ok(out)
    }

    async fn tags_by_digest(&self, repo: &Repo) -> Result<BTreeMap<Digest, Vec<String>>, RegistryError> {
        let blobs = self.blobs().as_ref();
        let mut out: BTreeMap<Digest, Vec<String>> = BTreeMap::new();
        for t in blobs.tags(repo).await.map_err(|e| internal(&e))?.unwrap_or_default() {
            if let Some(m) = blobs.get_manifest(repo, &Reference::Tag(t.clone())).await.map_err(|e| internal(&e))? {
                out.entry(m.digest).or_default().push(t);
            }
        }
        Ok(out)
    }

    /// A tag's record and when it last moved; `None` if the repository has no such tag.
    async fn tag_json(&self, repo: &Repo, tag: &str) -> Result<Option<(Value, Option<SystemTime>)>, RegistryError> {
        let blobs = self.blobs().as_ref();
        let Some(m) = blobs.get_manifest(repo, &Reference::Tag(tag.to_string())).await.map_err(|e| internal(&e))?
        else {
            return Ok(None);
        };
        let times = blobs.tag_times(repo, tag).await.map_err(|e| internal(&e))?;
        let attrs = blobs.attributes(repo, &Item::Tag(tag.to_string())).await.map_err(|e| internal(&e))?;
        let mut o = Map::new();
        o.insert("name".into(), json!(tag));
        o.insert("digest".into(), json!(m.digest.as_str()));
        put_times(&mut o, times);
        o.insert("signed".into(), json!(false));
        o.insert("changeableAttributes".into(), json!(attrs));
        Ok(Some((Value::Object(o), times.map(|t| t.updated))))
    }

    /// A manifest's record and when it last changed; `None` if the repository lacks it.
    async fn manifest_json(
        &self,
        repo: &Repo,
        digest: &Digest,
        tags_by: &BTreeMap<Digest, Vec<String>>,
    ) -> Result<Option<(Value, Option<SystemTime>)>, RegistryError> {
        let blobs = self.blobs().as_ref();
        let Some(facts) = self.manifest_facts(repo, digest).await? else { return Ok(None) };
        let times = blobs.manifest_times(repo, digest).await.map_err(|e| internal(&e))?;
        let attrs = blobs.attributes(repo, &Item::Manifest(digest.clone())).await.map_err(|e| internal(&e))?;
        let mut o = Map::new();
        o.insert("digest".into(), json!(digest.as_str()));
        if let Some(size) = facts.size {
            o.insert("imageSize".into(), json!(size));
        }
        put_times(&mut o, times);
        if let Some((os, arch)) = facts.platform {
            o.insert("architecture".into(), json!(arch));
            o.insert("os".into(), json!(os));
        }
        o.insert("mediaType".into(), json!(facts.media_type));
        if let Some(c) = facts.config_media_type {
            o.insert("configMediaType".into(), json!(c));
        }
        o.insert("tags".into(), json!(tags_by.get(digest).cloned().unwrap_or_default()));
        o.insert("changeableAttributes".into(), json!(attrs));
        Ok(Some((Value::Object(o), times.map(|t| t.updated))))
    }

    /// Media type, size (config and layers, or the child manifests of an index), config
    /// media type and platform (from the config blob) of a stored manifest.
    async fn manifest_facts(&self, repo: &Repo, digest: &Digest) -> Result<Option<ManifestFacts>, RegistryError> {
        let blobs = self.blobs().as_ref();
        let reference = Reference::Digest(digest.clone());
        let Some(m) = blobs.get_manifest(repo, &reference).await.map_err(|e| internal(&e))? else {
            return Ok(None);
        };
        let mut facts =
            ManifestFacts { media_type: m.media_type.clone(), size: None, config_media_type: None, platform: None };
        // The store holds only manifests that parsed when pushed.
        let Ok(parsed) = parse_manifest(&m.bytes, Some(&m.media_type)) else { return Ok(Some(facts)) };
        match parsed.manifest {
            Manifest::Image { config, layers } => {
                facts.size = Some(config.size + layers.iter().map(|l| l.size).sum::<u64>());
                facts.platform = self.platform(repo, &config.digest).await?;
                facts.config_media_type = Some(config.media_type);
            }
            Manifest::Index { manifests } => facts.size = Some(manifests.iter().map(|d| d.size).sum()),
            Manifest::Schema1 { .. } => {}
        }
        Ok(Some(facts))
    }

    /// `(os, architecture)` of an image's config blob, if it holds them.
    async fn platform(&self, repo: &Repo, config: &Digest) -> Result<Option<(String, String)>, RegistryError> {
        let blobs = self.blobs().as_ref();
        let Some(r) = blobs.open_blob(repo, config, None).await.map_err(|e| internal(&e))? else {
            return Ok(None);
        };
        if r.size > MAX_CONFIG {
            return Ok(None);
        }
        let mut bytes = Vec::new();
        if r.reader.take(MAX_CONFIG).read_to_end(&mut bytes).await.is_err() {
            return Ok(None);
        }
        let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok(match (v["os"].as_str(), v["architecture"].as_str()) {
            (Some(os), Some(arch)) => Some((os.to_string(), arch.to_string())),
            _ => None,
        })
    }

    /// A repository's record: counts, times (first manifest, latest change) and attributes.
    async fn repository_json(&self, registry: &Registry, repo: &Repo) -> Result<Value, RegistryError> {
        let blobs = self.blobs().as_ref();
        let digests = self.digests(repo).await?;
        let tags = blobs.tags(repo).await.map_err(|e| internal(&e))?.unwrap_or_default();
        let mut created: Option<SystemTime> = None;
        let mut updated: Option<SystemTime> = None;
        let mut note = |t: Times| {
            created = Some(created.map_or(t.created, |c| c.min(t.created)));
            updated = Some(updated.map_or(t.updated, |u| u.max(t.updated)));
        };
        for d in &digests {
            if let Some(t) = blobs.manifest_times(repo, d).await.map_err(|e| internal(&e))? {
                note(t);
            }
        }
        for t in &tags {
            if let Some(t) = blobs.tag_times(repo, t).await.map_err(|e| internal(&e))? {
                note(t);
            }
        }
        let attrs = blobs.attributes(repo, &Item::Repository).await.map_err(|e| internal(&e))?;
        let mut o = Map::new();
        o.insert("registry".into(), json!(registry.login_server));
        o.insert("imageName".into(), json!(repo.name.as_str()));
        put_times(&mut o, created.zip(updated).map(|(created, updated)| Times { created, updated }));
        o.insert("manifestCount".into(), json!(digests.len()));
        o.insert("tagCount".into(), json!(tags.len()));
        o.insert("changeableAttributes".into(), json!(attrs));
        Ok(Value::Object(o))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> RepoName {
        RepoName::parse(s).unwrap()
    }

    #[test]
    fn paths_split_at_the_last_acr_keyword_so_names_keep_their_slashes() {
        let d = Digest::of(b"x");
        let p = |s: &str| parse(s).unwrap();
        assert_eq!(p("/acr/v1/_catalog"), Ok(V1Route::Catalog));
        assert_eq!(p("/acr/v1/team/app"), Ok(V1Route::Repository(name("team/app"))));
        assert_eq!(p("/acr/v1/team/app/_tags"), Ok(V1Route::Tags(name("team/app"))));
        assert_eq!(p("/acr/v1/team/app/_tags/v1.0"), Ok(V1Route::Tag(name("team/app"), "v1.0".into())));
        assert_eq!(p("/acr/v1/a/_manifests"), Ok(V1Route::Manifests(name("a"))));
        assert_eq!(p(&format!("/acr/v1/a/b/c/_manifests/{d}")), Ok(V1Route::Manifest(name("a/b/c"), d)));
        assert!(parse("/v2/_catalog").is_none());
        let code = |s: &str| {
            let e = p(s).unwrap_err();
            (e.status, e.code)
        };
        assert_eq!(code("/acr/v1/Team/App"), (400, "NAME_INVALID"));
        assert_eq!(code("/acr/v1/app/"), (400, "NAME_INVALID"));
        assert_eq!(code("/acr/v1/%2e%2e/_tags"), (400, "NAME_INVALID"));
        assert_eq!(code("/acr/v1/app/_tags/.bad"), (400, "TAG_INVALID"));
        assert_eq!(code("/acr/v1/app/_manifests/sha256:zz"), (400, "DIGEST_INVALID"));
        assert_eq!(code("/acr/v1/_deleted/_catalog"), (404, "NOT_FOUND"));
        assert_eq!(code("/acr/v1/"), (404, "NOT_FOUND"));
    }

    #[test]
    fn each_method_needs_the_scope_az_asks_for() {
        let scope = |r: &V1Route, m: Method| need(r, &m).map(|n| n.scope());
        let app = name("team/app");
        assert_eq!(scope(&V1Route::Catalog, Method::GET), Ok(Some("registry:catalog:*".into())));
        assert_eq!(
            scope(&V1Route::Tags(app.clone()), Method::GET),
            Ok(Some("repository:team/app:metadata_read".into()))
        );
        assert_eq!(
            scope(&V1Route::Tag(app.clone(), "v1".into()), Method::PATCH),
            Ok(Some("repository:team/app:metadata_write".into()))
        );
        assert_eq!(
            scope(&V1Route::Repository(app.clone()), Method::DELETE),
            Ok(Some("repository:team/app:delete".into()))
        );
        for (r, m) in [
            (V1Route::Catalog, Method::DELETE),
            (V1Route::Tags(app.clone()), Method::PATCH),
            (V1Route::Repository(app), Method::PUT),
        ] {
            let e = need(&r, &m).unwrap_err();
            assert_eq!((e.status, e.code), (405, "UNSUPPORTED"), "{m} {r:?}");
        }
    }

    #[test]
    fn times_are_written_as_acr_writes_them() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::new(1_607_677_076, 207_000_250);
        assert_eq!(stamp(t), "2020-12-11T08:57:56.2070002Z");
    }

    #[test]
    fn pages_follow_n_last_and_orderby_with_a_link_to_the_next() {
        let at = |s: u64| Some(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(s));
        let items = || {
            vec![
                Listed { key: "b".into(), updated: at(3), value: json!("b") },
                Listed { key: "a".into(), updated: at(1), value: json!("a") },
                Listed { key: "c".into(), updated: at(2), value: json!("c") },
            ]
        };
        let q = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>();
        let (page, next) = paged(items(), &q(&[("n", "2")]), "/acr/v1/x/_tags").unwrap();
        assert_eq!(
            (page, next.as_deref()),
            (vec![json!("a"), json!("b")], Some("</acr/v1/x/_tags?last=b&n=2>; rel=\"next\""))
        );
        let (page, next) = paged(items(), &q(&[("n", "2"), ("last", "b")]), "/x").unwrap();
        assert_eq!((page, next), (vec![json!("c")], None));
        let (page, next) = paged(items(), &q(&[("orderby", "timedesc"), ("n", "1")]), "/x").unwrap();
        assert_eq!((page, next.as_deref()), (vec![json!("b")], Some("</x?last=b&n=1&orderby=timedesc>; rel=\"next\"")));
        let (page, _) = paged(items(), &q(&[("orderby", "timedesc"), ("last", "b")]), "/x").unwrap();
        assert_eq!(page, vec![json!("c"), json!("a")]);
        let (page, _) = paged(items(), &q(&[("orderby", "timeasc")]), "/x").unwrap();
        assert_eq!(page, vec![json!("a"), json!("c"), json!("b")]);
        let e = paged(items(), &q(&[("orderby", "size")]), "/x").unwrap_err();
        assert_eq!((e.status, e.code), (400, "UNSUPPORTED"));
        let e = paged(items(), &q(&[("n", "many")]), "/x").unwrap_err();
        assert_eq!((e.status, e.code), (400, "PAGINATION_NUMBER_INVALID"));
    }

    #[test]
    fn patch_bodies_change_only_the_booleans_they_name() {
        let all = Changeable::default();
        let p = patched(all, br#"{"deleteEnabled": false, "other": 1}"#).unwrap();
        assert_eq!(p, Changeable { delete_enabled: false, ..all });
        for bad in [&b"[]"[..], b"{\"writeEnabled\": \"no\"}", b"not json"] {
            let e = patched(all, bad).unwrap_err();
            assert_eq!((e.status, e.code), (400, "UNSUPPORTED"));
        }
    }
}
