//! ACR authentication and authorization (docs/azure.md D; Azure/acr docs/AAD-OAuth.md).
//!
//! Who a caller is:
//! - the **admin user** (Basic auth, username = registry name, password = the current
//!   `password` or `password2`), only while `adminUserEnabled`; the passwords are derived
//!   from a generation counter in the store, so regenerating one invalidates the old at once;
//! - an **Entra identity** (a managed identity or service principal): its Entra token
//!   (`aud` `https://containerregistry.azure.net/`, or ARM's, as `az acr login` sends) is
//!   exchanged at `POST /oauth2/exchange` for an ACR refresh token, which buys access
//!   tokens at `POST /oauth2/token`, or is used as the Basic password of the user
//!   `00000000-0000-0000-0000-000000000000` (what `az acr login --expose-token` prints);
//! - **anonymous**, which may pull only when `anonymousPullEnabled`.
//!
//! What it may do: the admin user everything; an identity what its role assignments at
//! the registry's scope or above grant, read from the one built-in role table ARM reads
//! too (`crate::arm::roles`): `pull` with `…/registries/pull/read` (AcrPull, AcrPush,
//! Reader, Contributor, Owner), `push` with `…/push/write` (AcrPush, Contributor,
//! Owner), `delete` with `…/artifacts/delete` (AcrDelete, Contributor, Owner).
//! ACR's own API (`/acr/v1/`, what `az acr repository show-tags/show/update` use) asks
//! for `metadata_read`, which comes with pull, and `metadata_write`, which comes with
//! push \[I: the ACR roles table lists no metadata column; AcrPull identities list tags
//! and AcrPush ones lock images in Microsoft's walkthroughs\]; the catalog
//! (`registry:catalog:*`) with any of them.
//! The token endpoint grants the intersection of what is asked and what is allowed —
//! possibly nothing — as the Docker token protocol does; the registry request is then
//! refused with ACR's 401 `UNAUTHORIZED`, which is what a pull by an identity without
//! AcrPull shows in App Service's log \[I\].
//!
//! ACR tokens are JWTs signed by pullsim's [`TokenSigner`] with `aud` = the login server,
//! `grant_type` telling refresh from access tokens, and (access tokens) the granted
//! `access` list of `{type, name, actions}`; access tokens live 1 hour \[U\], refresh
//! tokens 3 hours (ACR's documented refresh-token lifetime). A token is checked against
//! the request's scope on every call. Tokens stay valid until they expire even if the
//! password or role that bought them changes \[U\].

use std::collections::BTreeSet;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use serde_json::{Value, json};

use super::errors::RegistryError;
use super::oci::{Digest, RepoName};
use crate::arm::ARM_AUDIENCES;
use crate::arm::authz::Assignments;
use crate::arm::roles::{ACR_DELETE, ACR_PULL, ACR_PUSH};
use crate::identity::TokenSigner;
use crate::model::Store;
use crate::model::view::Registry;

/// Lifetime of an ACR access token, seconds.
pub const ACCESS_TOKEN_LIFETIME: u64 = 3600;
/// Lifetime of an ACR refresh token, seconds.
pub const REFRESH_TOKEN_LIFETIME: u64 = 3 * 3600;
/// Basic-auth user name that means "the password is an ACR refresh token".
pub const TOKEN_USER: &str = "00000000-0000-0000-0000-000000000000";
/// Audiences of Entra tokens `/oauth2/exchange` accepts.
pub const ENTRA_AUDIENCES: [&str; 3] = ["https://containerregistry.azure.net/", ARM_AUDIENCES[0], ARM_AUDIENCES[1]];
const ISSUER: &str = "Azure Container Registry";

/// A repository action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    /// Read manifests, blobs, tags.
    Pull,
    /// Upload blobs, put manifests.
    Push,
    /// Delete manifests and tags.
    Delete,
    /// Read ACR's metadata of repositories, tags and manifests (`/acr/v1/`).
    MetadataRead,
    /// Change their attributes (`PATCH /acr/v1/…`).
    MetadataWrite,
}

impl Action {
    /// The scope word.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Pull => "pull",
            Action::Push => "push",
            Action::Delete => "delete",
            Action::MetadataRead => "metadata_read",
            Action::MetadataWrite => "metadata_write",
        }
    }
}

/// What a registry request needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Need {
    /// `/v2/` itself: any authenticated caller.
    Base,
    /// An action on a repository.
    Repo(RepoName, Action),
    /// `/v2/_catalog`, `/acr/v1/_catalog`.
    Catalog,
}

impl Need {
    /// The scope a client should ask for (the challenge's `scope`); `None` for `/v2/`.
    pub fn scope(&self) -> Option<String> {
        match self {
            Need::Base => None,
            Need::Repo(r, Action::Push) => Some(format!("repository:{r}:pull,push")),
            Need::Repo(r, a) => Some(format!("repository:{r}:{}", a.as_str())),
            Need::Catalog => Some("registry:catalog:*".into()),
        }
    }
}

/// A token scope: `repository:app:pull,push`, `registry:catalog:*`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Scope {
    /// `repository` or `registry`.
    pub kind: String,
    /// Repository name, or `catalog`.
    pub name: String,
    /// Actions, sorted (`*` means all).
    pub actions: Vec<String>,
}

impl Scope {
    /// Parses `type:name:actions`; `None` if malformed.
    pub fn parse(s: &str) -> Option<Scope> {
        let (kind, rest) = s.split_once(':')?;
        let (name, actions) = rest.rsplit_once(':')?;
        if kind.is_empty() || name.is_empty() {
            return None;
        }
        let actions: BTreeSet<String> =
            actions.split(',').map(str::trim).filter(|a| !a.is_empty()).map(str::to_string).collect();
        Some(Scope { kind: kind.to_string(), name: name.to_string(), actions: actions.into_iter().collect() })
    }

    fn json(&self) -> Value {
        json!({"type": self.kind, "name": self.name, "actions": self.actions})
    }

    fn from_json(v: &Value) -> Option<Scope> {
        Some(Scope {
            kind: v["type"].as_str()?.to_string(),
            name: v["name"].as_str()?.to_string(),
            actions: v["actions"].as_array()?.iter().filter_map(|a| a.as_str().map(str::to_string)).collect(),
        })
    }
}

/// Who the caller is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// The admin user.
    Admin,
    /// An Entra identity, by object ID.
    Identity {
        /// `oid` of its Entra token.
        oid: String,
    },
    /// No credentials.
    Anonymous,
}

impl Principal {
    fn subject(&self, registry: &str) -> String {
        match self {
            Principal::Admin => registry.to_string(),
            Principal::Identity { oid } => oid.clone(),
            Principal::Anonymous => String::new(),
        }
    }
}

/// What the ACR's auth needs from the rest of pullsim.
pub struct AuthCtx<'a> {
    /// The resource store (registry settings, role assignments).
    pub store: &'a Store,
    /// Signs ACR tokens; verifies them and Entra tokens.
    pub signer: &'a TokenSigner,
    /// The tenant Entra tokens must come from.
    pub tenant: &'a str,
    /// Now, seconds since the epoch.
    pub now: u64,
}

/// The registry's login server name (`<reg>.azurecr.io`), as challenges name it.
pub fn login_server(registry: &Registry) -> String {
    registry.login_server.clone()
}

/// The actions an identity's role assignments grant on a registry.
pub fn identity_actions(store: &Store, registry_id: &str, oid: &str) -> BTreeSet<Action> {
    let grants = Assignments::of(store);
    [
        (Action::Pull, ACR_PULL),
        (Action::MetadataRead, ACR_PULL),
        (Action::Push, ACR_PUSH),
        (Action::MetadataWrite, ACR_PUSH),
        (Action::Delete, ACR_DELETE),
    ]
    .into_iter()
    .filter(|(_, op)| grants.permits(oid, op, registry_id))
    .map(|(a, _)| a)
    .collect()
}

/// What `principal` gets of the `requested` scopes on `registry`.
pub fn grant(store: &Store, registry: &Registry, principal: &Principal, requested: &[Scope]) -> Vec<Scope> {
    let all: BTreeSet<Action> =
        [Action::Pull, Action::Push, Action::Delete, Action::MetadataRead, Action::MetadataWrite].into();
    let allowed: BTreeSet<Action> = match principal {
        Principal::Admin => all,
        Principal::Identity { oid } => identity_actions(store, &registry.id, oid),
        Principal::Anonymous if registry.anonymous_pull => [Action::Pull].into(),
        Principal::Anonymous => BTreeSet::new(),
    };
    let mut out = Vec::new();
    for s in requested {
        let actions: BTreeSet<String> = match s.kind.as_str() {
            "repository" if RepoName::parse(&s.name).is_some() => allowed
                .iter()
                .filter(|a| s.actions.iter().any(|r| r == "*" || r == a.as_str()))
                .map(|a| a.as_str().to_string())
                .collect(),
            "registry" if s.name == "catalog" && !allowed.is_empty() && *principal != Principal::Anonymous => {
                ["*".to_string()].into()
            }
            _ => BTreeSet::new(),
        };
        if !actions.is_empty() {
            out.push(Scope { kind: s.kind.clone(), name: s.name.clone(), actions: actions.into_iter().collect() });
        }
    }
    out
}

/// Whether a token's access list covers a need.
pub fn permits(access: &[Scope], need: &Need) -> bool {
    match need {
        Need::Base => true,
        Need::Repo(repo, action) => access.iter().any(|s| {
            s.kind == "repository"
                && s.name == repo.as_str()
                && s.actions.iter().any(|a| a == "*" || a == action.as_str())
        }),
        Need::Catalog => {
            access.iter().any(|s| s.kind == "registry" && s.name == "catalog" && s.actions.iter().any(|a| a == "*"))
        }
    }
}

fn jti(parts: &[&str]) -> String {
    crate::model::net::guid(parts)
}

/// Issues an ACR access token.
pub fn issue_access(ctx: &AuthCtx, registry: &Registry, principal: &Principal, access: &[Scope]) -> String {
    let login = login_server(registry);
    let sub = principal.subject(&registry.name);
    let now = ctx.now;
    ctx.signer.sign(&json!({
        "jti": jti(&["acr-access", &login, &sub, &now.to_string()]),
        "sub": sub, "nbf": now, "iat": now, "exp": now + ACCESS_TOKEN_LIFETIME,
        "iss": ISSUER, "aud": login, "version": "1.0",
        "grant_type": "access_token",
        "access": access.iter().map(Scope::json).collect::<Vec<_>>(),
    }))
}

/// The access list of a valid, unexpired ACR access token for this registry.
pub fn verify_access(ctx: &AuthCtx, registry: &Registry, token: &str) -> Option<Vec<Scope>> {
    let claims = ctx.signer.verify(token, &[&login_server(registry)], ctx.now).ok()?;
    if claims["grant_type"] != "access_token" {
        return None;
    }
    Some(claims["access"].as_array()?.iter().filter_map(Scope::from_json).collect())
}

/// Issues an ACR refresh token for an Entra identity.
pub fn issue_refresh(ctx: &AuthCtx, registry: &Registry, oid: &str) -> String {
    let login = login_server(registry);
    let now = ctx.now;
    ctx.signer.sign(&json!({
        "jti": jti(&["acr-refresh", &login, oid, &now.to_string()]),
        "sub": oid, "nbf": now, "iat": now, "exp": now + REFRESH_TOKEN_LIFETIME,
        "iss": ISSUER, "aud": login, "version": "1.0",
        "grant_type": "refresh_token", "tenant": ctx.tenant,
    }))
}

/// The identity of a valid, unexpired ACR refresh token for this registry.
pub fn verify_refresh(ctx: &AuthCtx, registry: &Registry, token: &str) -> Option<Principal> {
    let claims = ctx.signer.verify(token, &[&login_server(registry)], ctx.now).ok()?;
    if claims["grant_type"] != "refresh_token" {
        return None;
    }
    Some(Principal::Identity { oid: claims["sub"].as_str()?.to_string() })
}

/// Credentials of a request, from its `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// None.
    None,
    /// `Basic user:password`.
    Basic(String, String),
    /// `Bearer token`.
    Bearer(String),
    /// A header that is neither.
    Malformed,
}

impl Credentials {
    /// Parses an `Authorization` header value.
    pub fn parse(header: Option<&str>) -> Credentials {
        let Some(h) = header.map(str::trim) else { return Credentials::None };
        let (scheme, rest) = h.split_once(' ').unwrap_or((h, ""));
        if scheme.eq_ignore_ascii_case("basic") {
            let Some(text) = B64.decode(rest.trim()).ok().and_then(|b| String::from_utf8(b).ok()) else {
                return Credentials::Malformed;
            };
            match text.split_once(':') {
                Some((u, p)) => Credentials::Basic(u.to_string(), p.to_string()),
                None => Credentials::Malformed,
            }
        } else if scheme.eq_ignore_ascii_case("bearer") && !rest.trim().is_empty() {
            Credentials::Bearer(rest.trim().to_string())
        } else {
            Credentials::Malformed
        }
    }
}

/// The principal behind Basic credentials: the admin user, or a refresh token's identity.
pub fn basic_principal(ctx: &AuthCtx, registry: &Registry, user: &str, password: &str) -> Option<Principal> {
    if user == TOKEN_USER {
        return verify_refresh(ctx, registry, password);
    }
    let passwords = registry.admin_passwords.as_ref()?;
    (user.eq_ignore_ascii_case(&registry.name) && passwords.iter().any(|p| p == password)).then_some(Principal::Admin)
}

/// Authorizes a registry request, or refuses it with ACR's 401 and the challenge.
pub fn authorize(ctx: &AuthCtx, registry: &Registry, creds: &Credentials, need: &Need) -> Result<(), RegistryError> {
    let refuse = || RegistryError::unauthorized(&login_server(registry), need.scope().as_deref());
    let wanted: Vec<Scope> = need.scope().and_then(|s| Scope::parse(&s)).into_iter().collect();
    let access = match creds {
        // `/v2/` always challenges, so clients fetch a token even for anonymous pulls.
        Credentials::None if *need == Need::Base => return Err(refuse()),
        Credentials::None => grant(ctx.store, registry, &Principal::Anonymous, &wanted),
        Credentials::Basic(u, pw) => {
            let p = basic_principal(ctx, registry, u, pw).ok_or_else(refuse)?;
            grant(ctx.store, registry, &p, &wanted)
        }
        Credentials::Bearer(t) => verify_access(ctx, registry, t).ok_or_else(refuse)?,
        Credentials::Malformed => return Err(refuse()),
    };
    if permits(&access, need) { Ok(()) } else { Err(refuse()) }
}

/// `GET /oauth2/token?service=&scope=…` (Basic admin, Basic refresh token, or anonymous).
pub fn token_get(
    ctx: &AuthCtx,
    registry: &Registry,
    creds: &Credentials,
    query: &[(String, String)],
) -> Result<Value, RegistryError> {
    let principal = match creds {
        Credentials::None => Principal::Anonymous,
        Credentials::Basic(u, p) => basic_principal(ctx, registry, u, p).ok_or_else(RegistryError::token_refused)?,
        _ => return Err(RegistryError::token_refused()),
    };
    let requested = scopes(query);
    if principal == Principal::Anonymous && !registry.anonymous_pull {
        return Err(RegistryError::token_refused());
    }
    let access = grant(ctx.store, registry, &principal, &requested);
    Ok(json!({"access_token": issue_access(ctx, registry, &principal, &access)}))
}

/// `POST /oauth2/token` (form): `grant_type=refresh_token` or `password`.
pub fn token_post(ctx: &AuthCtx, registry: &Registry, form: &[(String, String)]) -> Result<Value, RegistryError> {
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let principal = match get("grant_type") {
        Some("refresh_token") => {
            let rt = get("refresh_token")
                .ok_or_else(|| RegistryError::token_request_invalid("refresh_token is required"))?;
            verify_refresh(ctx, registry, rt).ok_or_else(RegistryError::token_refused)?
        }
        Some("password") => {
            let (u, p) = (get("username").unwrap_or_default(), get("password").unwrap_or_default());
            basic_principal(ctx, registry, u, p).ok_or_else(RegistryError::token_refused)?
        }
        Some(other) => {
            return Err(RegistryError::token_request_invalid(&format!("grant_type '{other}' is not supported")));
        }
        None => return Err(RegistryError::token_request_invalid("grant_type is required")),
    };
    let access = grant(ctx.store, registry, &principal, &scopes(form));
    Ok(json!({"access_token": issue_access(ctx, registry, &principal, &access)}))
}

/// `POST /oauth2/exchange` (form): an Entra token for an ACR refresh token.
pub fn exchange(ctx: &AuthCtx, registry: &Registry, form: &[(String, String)]) -> Result<Value, RegistryError> {
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    match get("grant_type") {
        Some("access_token") => {}
        Some(other) => {
            return Err(RegistryError::token_request_invalid(&format!("grant_type '{other}' is not supported")));
        }
        None => return Err(RegistryError::token_request_invalid("grant_type is required")),
    }
    let token = get("access_token").ok_or_else(|| RegistryError::token_request_invalid("access_token is required"))?;
    let claims = ctx.signer.verify(token, &ENTRA_AUDIENCES, ctx.now).map_err(|_| RegistryError::token_refused())?;
    let tid = claims["tid"].as_str().unwrap_or_default();
    if !tid.eq_ignore_ascii_case(ctx.tenant) || get("tenant").is_some_and(|t| !t.eq_ignore_ascii_case(tid)) {
        return Err(RegistryError::token_refused());
    }
    let oid = claims["oid"].as_str().ok_or_else(RegistryError::token_refused)?;
    Ok(json!({"refresh_token": issue_refresh(ctx, registry, oid)}))
}

fn scopes(pairs: &[(String, String)]) -> Vec<Scope> {
    // Several scopes come as repeated `scope=` parameters or space-separated in one.
    pairs.iter().filter(|(k, _)| k == "scope").flat_map(|(_, v)| v.split(' ')).filter_map(Scope::parse).collect()
}

/// Signs the data-endpoint URLs blob downloads are redirected to: HMAC-SHA256 over
/// registry, repository, digest and expiry, with a key that lives as long as the process.
pub struct BlobUrlSigner {
    key: ring::hmac::Key,
}

/// Why a data-endpoint URL was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlError {
    /// Missing or wrong signature.
    BadSignature,
    /// Signed, but expired.
    Expired,
}

/// How long a redirect URL is valid, seconds [U: ACR's SAS URLs last minutes].
pub const BLOB_URL_LIFETIME: u64 = 20 * 60;

impl BlobUrlSigner {
    /// A signer with a fresh random key.
    pub fn generate() -> BlobUrlSigner {
        let rng = ring::rand::SystemRandom::new();
        let key = ring::hmac::Key::generate(ring::hmac::HMAC_SHA256, &rng)
            .unwrap_or_else(|_| ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"pullsim-data-endpoint"));
        BlobUrlSigner { key }
    }

    fn message(registry: &str, repo: &str, digest: &Digest, expiry: u64) -> String {
        format!("{registry}\n{repo}\n{digest}\n{expiry}")
    }

    /// The signature of a blob URL valid until `expiry`.
    pub fn sign(&self, registry: &str, repo: &str, digest: &Digest, expiry: u64) -> String {
        B64URL.encode(ring::hmac::sign(&self.key, Self::message(registry, repo, digest, expiry).as_bytes()))
    }

    /// Checks a signature and its expiry.
    pub fn verify(
        &self,
        registry: &str,
        repo: &str,
        digest: &Digest,
        expiry: u64,
        sig: &str,
        now: u64,
    ) -> Result<(), UrlError> {
        let sig = B64URL.decode(sig).map_err(|_| UrlError::BadSignature)?;
        ring::hmac::verify(&self.key, Self::message(registry, repo, digest, expiry).as_bytes(), &sig)
            .map_err(|_| UrlError::BadSignature)?;
        if expiry <= now { Err(UrlError::Expired) } else { Ok(()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acr::testenv::Env;

    const ACR_PULL: &str = "7f951dda-4ed3-4680-a7ca-43fe172d538d";
    const ACR_PUSH: &str = "8311e382-0749-4cb8-b61a-304f252e45ec";
    const READER: &str = "acdd72a7-3385-48ef-bd42-f606fba81ae7";

    fn ctx<'a>(env: &'a Env, tenant: &'a str, now: u64) -> AuthCtx<'a> {
        AuthCtx { store: &env.store, signer: &env.signer, tenant, now }
    }

    fn repo_need(r: &str, a: Action) -> Need {
        Need::Repo(RepoName::parse(r).unwrap(), a)
    }

    #[test]
    fn scopes_parse_and_tokens_cover_only_what_they_name() {
        let s = Scope::parse("repository:team/app:push,pull").unwrap();
        assert_eq!(
            (s.kind.as_str(), s.name.as_str(), s.actions.clone()),
            ("repository", "team/app", vec!["pull".to_string(), "push".to_string()])
        );
        assert!(Scope::parse("repository:app").is_none());
        let access = vec![Scope::parse("repository:app:pull").unwrap()];
        assert!(permits(&access, &repo_need("app", Action::Pull)));
        assert!(!permits(&access, &repo_need("app", Action::Push)));
        assert!(!permits(&access, &repo_need("other", Action::Pull)));
        assert!(!permits(&access, &Need::Catalog));
        assert!(permits(&access, &Need::Base));
    }

    #[test]
    fn admin_tokens_carry_the_requested_scope_and_expire() {
        let env = Env::new();
        let reg = env.registry("authacr01", "Premium", true);
        let tenant = env.tenant();
        let [p1, _] = reg.admin_passwords.clone().unwrap();
        let c = ctx(&env, &tenant, 1_000_000);
        let q = vec![("scope".to_string(), "repository:app:pull,push".to_string())];
        let t = token_get(&c, &reg, &Credentials::Basic("authacr01".into(), p1.clone()), &q).unwrap();
        let token = t["access_token"].as_str().unwrap();
        let access = verify_access(&c, &reg, token).unwrap();
        assert!(permits(&access, &repo_need("app", Action::Push)));
        assert!(!permits(&access, &repo_need("app2", Action::Pull)));
        let later = ctx(&env, &tenant, 1_000_000 + ACCESS_TOKEN_LIFETIME);
        assert!(verify_access(&later, &reg, token).is_none(), "expired");
        // Another registry's token is not this one's.
        let other = env.registry("authacr02", "Premium", true);
        assert!(verify_access(&c, &other, token).is_none());
        // A refresh token is no access token.
        assert!(verify_access(&c, &reg, &issue_refresh(&c, &reg, "oid")).is_none());
    }

    #[test]
    fn admin_password_must_be_current_and_admin_enabled() {
        let env = Env::new();
        let reg = env.registry("authacr03", "Premium", true);
        let tenant = env.tenant();
        let c = ctx(&env, &tenant, crate::identity::token::now());
        let [p1, p2] = reg.admin_passwords.clone().unwrap();
        let need = repo_need("app", Action::Pull);
        for p in [&p1, &p2] {
            assert_eq!(authorize(&c, &reg, &Credentials::Basic("authacr03".into(), p.clone()), &need), Ok(()));
        }
        let e = authorize(&c, &reg, &Credentials::Basic("authacr03".into(), "nope".into()), &need).unwrap_err();
        assert_eq!((e.status, e.code), (401, "UNAUTHORIZED"));
        env.call(
            "POST",
            &format!("{}/regenerateCredential", env.registry_id("authacr03")),
            json!({"name": "password"}),
        );
        let reg = env.get_registry("authacr03");
        assert!(
            authorize(&c, &reg, &Credentials::Basic("authacr03".into(), p1.clone()), &need).is_err(),
            "old password"
        );
        assert!(
            authorize(&c, &reg, &Credentials::Basic("authacr03".into(), p2.clone()), &need).is_ok(),
            "password2 unchanged"
        );
        env.patch_registry("authacr03", json!({"properties": {"adminUserEnabled": false}}));
        let reg = env.get_registry("authacr03");
        let e = authorize(&c, &reg, &Credentials::Basic("authacr03".into(), p2), &need).unwrap_err();
        assert_eq!(
            e.challenge.as_deref(),
            Some(
                r#"Bearer realm="https://authacr03.azurecr.io/oauth2/token",service="authacr03.azurecr.io",scope="repository:app:pull""#
            )
        );
        let e = authorize(&c, &reg, &Credentials::None, &Need::Base).unwrap_err();
        assert_eq!(
            e.challenge.as_deref(),
            Some(r#"Bearer realm="https://authacr03.azurecr.io/oauth2/token",service="authacr03.azurecr.io""#)
        );
    }

    #[test]
    fn identities_get_what_their_roles_grant_at_or_above_the_registry() {
        let env = Env::new();
        let reg = env.registry("authacr04", "Premium", false);
        env.registry("authacr044", "Premium", false);
        let tenant = env.tenant();
        let now = crate::identity::token::now();
        let c = ctx(&env, &tenant, now);
        let puller = env.identity("puller");
        let reader = env.identity("reader");
        let pusher = env.identity("pusher");
        env.assign(&env.registry_id("authacr04"), &puller, ACR_PULL, 1);
        env.assign(&env.registry_id("authacr04"), &reader, READER, 2);
        // Scope "…/authacr04" must not cover "…/authacr044": the prefix stops at a '/'.
        env.assign(&env.rg_id(), &pusher, ACR_PUSH, 4);
        let entra = |oid: &str| {
            env.signer.sign(
                &json!({"aud": "https://containerregistry.azure.net/", "tid": tenant, "oid": oid, "exp": now + 600}),
            )
        };
        let form =
            |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>();
        let pull_scope = [("scope", "repository:app:pull,push")];
        let access_of = |oid: &str| {
            let rt = exchange(
                &c,
                &reg,
                &form(&[("grant_type", "access_token"), ("access_token", &entra(oid)), ("tenant", &tenant)]),
            )
            .unwrap();
            let rt = rt["refresh_token"].as_str().unwrap().to_string();
            let mut f = form(&[("grant_type", "refresh_token"), ("refresh_token", &rt)]);
            f.extend(form(&pull_scope));
            let at = token_post(&c, &reg, &f).unwrap();
            verify_access(&c, &reg, at["access_token"].as_str().unwrap()).unwrap()
        };
        let a = access_of(&puller);
        assert!(permits(&a, &repo_need("app", Action::Pull)) && !permits(&a, &repo_need("app", Action::Push)));
        let a = access_of(&reader);
        assert!(
            permits(&a, &repo_need("app", Action::Pull)) && !permits(&a, &repo_need("app", Action::Push)),
            "Reader pulls (`*/read` covers pull/read, as the ACR roles table says) and does not push"
        );
        let stranger = env.identity("stranger");
        env.assign(&env.registry_id("authacr044"), &stranger, ACR_PULL, 5);
        assert!(access_of(&stranger).is_empty(), "AcrPull on a sibling registry does not count");
        let a = access_of(&pusher);
        assert!(permits(&a, &repo_need("app", Action::Push)), "AcrPush at the resource group");
        assert_eq!(identity_actions(&env.store, &env.registry_id("authacr04"), "unknown"), BTreeSet::new());
        // Wrong tenant or audience: refused.
        let foreign = env.signer.sign(
            &json!({"aud": "https://containerregistry.azure.net/", "tid": "other", "oid": puller, "exp": now + 600}),
        );
        let e = exchange(&c, &reg, &form(&[("grant_type", "access_token"), ("access_token", &foreign)])).unwrap_err();
        assert_eq!((e.status, e.code), (401, "UNAUTHORIZED"));
        let wrong_aud =
            env.signer.sign(&json!({"aud": "https://vault.azure.net", "tid": tenant, "oid": puller, "exp": now + 600}));
        assert!(exchange(&c, &reg, &form(&[("grant_type", "access_token"), ("access_token", &wrong_aud)])).is_err());
    }

    #[test]
    fn the_subscription_owner_lists_the_catalog_and_pushes_until_its_assignment_goes() {
        // What `az acr repository list` does as the service principal: its ARM token is
        // exchanged for a refresh token, then an access token for the catalog.
        let env = Env::new();
        let reg = env.registry("authacr05", "Premium", false);
        let tenant = env.tenant();
        let c = ctx(&env, &tenant, crate::identity::token::now());
        let arm_token = env.arm.cfg.client_token(&env.signer, 600);
        let form =
            |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>();
        let access = |scope: &str| {
            let rt =
                exchange(&c, &reg, &form(&[("grant_type", "access_token"), ("access_token", &arm_token)])).unwrap();
            let rt = rt["refresh_token"].as_str().unwrap().to_string();
            let at = token_post(
                &c,
                &reg,
                &form(&[("grant_type", "refresh_token"), ("refresh_token", &rt), ("scope", scope)]),
            )
            .unwrap();
            verify_access(&c, &reg, at["access_token"].as_str().unwrap()).unwrap()
        };
        assert!(permits(&access("registry:catalog:*"), &Need::Catalog), "Owner at the subscription lists the catalog");
        assert!(permits(&access("repository:app:pull,push"), &repo_need("app", Action::Push)));
        // The Owner assignment is an ordinary one: deleted, the principal gets nothing.
        let owner = env.store.filter(|_, v| v["type"] == "Microsoft.Authorization/roleAssignments");
        env.call("DELETE", owner[0]["id"].as_str().unwrap(), Value::Null);
        assert!(access("registry:catalog:*").is_empty());
    }

    #[test]
    fn blob_urls_are_bound_to_the_blob_and_expire() {
        let s = BlobUrlSigner::generate();
        let d = Digest::of(b"x");
        let sig = s.sign("reg", "app", &d, 100);
        assert_eq!(s.verify("reg", "app", &d, 100, &sig, 99), Ok(()));
        assert_eq!(s.verify("reg", "app", &d, 100, &sig, 100), Err(UrlError::Expired));
        assert_eq!(s.verify("reg", "app", &Digest::of(b"y"), 100, &sig, 99), Err(UrlError::BadSignature));
        assert_eq!(s.verify("reg", "app", &d, 101, &sig, 99), Err(UrlError::BadSignature));
        assert_eq!(s.verify("reg", "app2", &d, 100, &sig, 99), Err(UrlError::BadSignature));
    }
}
