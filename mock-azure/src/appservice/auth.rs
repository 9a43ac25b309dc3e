//! How the platform authenticates to the registry (docs/azure.md A4, B): the credential kind
//! is chosen from the site's settings by [`Credential::of`], then one small unit per
//! kind — a managed identity (system or user-assigned), the admin user, or nothing
//! (anonymous, as for Docker Hub) — gets an ACR token or ends the pull at `auth`.

use base64::Engine;

use super::arm_client::IdentityToken;
use super::logs::{docker_error, registry_error};
use super::pull::{Pull, PullError, why};
use super::route::Route;
use super::rules::Epoch;
use super::site::SiteView;
use super::trace::{Code, RouteKind, Stage};
use crate::acr::oci::ImageRef;
use crate::form::encode as enc;
use crate::httpc::{Conn, Resp};

/// The credential a site pulls with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// `acrUseManagedIdentityCreds` without `acrUserManagedIdentityID`.
    SystemIdentity,
    /// `acrUseManagedIdentityCreds` with `acrUserManagedIdentityID`: the user-assigned
    /// identity with this client ID.
    UserIdentity {
        /// The client ID.
        client_id: String,
    },
    /// `DOCKER_REGISTRY_SERVER_USERNAME`/`PASSWORD` for the image's registry.
    Admin {
        /// User name.
        user: String,
        /// Password.
        password: String,
    },
    /// Nothing usable: an anonymous pull.
    Anonymous {
        /// Why (the trace's "decided by").
        why: &'static str,
    },
}

impl Credential {
    /// The credential `view` pulls with; `url_matches` says whether
    /// `DOCKER_REGISTRY_SERVER_URL` names the image's registry.
    pub fn of(view: &SiteView, url_matches: bool) -> Credential {
        if view.use_managed_identity {
            return match &view.user_identity_client_id {
                Some(c) => Credential::UserIdentity { client_id: c.clone() },
                None => Credential::SystemIdentity,
            };
        }
        let user = view.setting("DOCKER_REGISTRY_SERVER_USERNAME");
        let password = view.setting("DOCKER_REGISTRY_SERVER_PASSWORD");
        match (user, password, url_matches) {
            (Some(u), Some(p), true) => Credential::Admin { user: u.to_string(), password: p.to_string() },
            (_, _, true) => Credential::Anonymous { why: "no DOCKER_REGISTRY_SERVER_USERNAME/PASSWORD" },
            (_, _, false) => Credential::Anonymous { why: "no DOCKER_REGISTRY_SERVER_URL for this registry" },
        }
    }
}

/// Authenticates to the registry after its `/v2/` answered `ping`: the ACR token to pull
/// with, `None` when none is needed.
pub(crate) async fn authenticate(
    p: &mut Pull<'_>,
    conn: &mut Conn,
    route: &Route,
    image: &ImageRef,
    url_matches: bool,
    ping: &Resp,
) -> Result<Option<String>, PullError> {
    if ping.status == 200 {
        p.trace.ok(Stage::Auth, "the registry needs no authentication", None, None);
        return Ok(None);
    }
    match Credential::of(&p.view, url_matches) {
        Credential::SystemIdentity => identity(p, conn, route, image, None).await.map(Some),
        Credential::UserIdentity { client_id } => identity(p, conn, route, image, Some(&client_id)).await.map(Some),
        Credential::Admin { user, password } => admin(p, conn, image, &user, &password).await.map(Some),
        Credential::Anonymous { why } => anonymous(p, conn, image, why).await,
    }
}

/// The manifest URL, as docker names it in its errors.
fn manifest_url(image: &ImageRef) -> String {
    format!("https://{}/v2/{}/manifests/{}", image.host, image.repo, image.reference)
}

/// What docker says when it asks for the manifest without a token.
async fn refused_anonymously(p: &Pull<'_>, conn: &mut Conn, image: &ImageRef) -> Result<String, PullError> {
    let anonymous = p.get(conn, &format!("/v2/{}/manifests/{}", image.repo, image.reference), &[]).await?;
    Ok(docker_error(&manifest_url(image), &anonymous))
}

/// A managed identity: an Entra token from the platform's MSI endpoint, exchanged for an
/// ACR refresh token, then an access token for the repository.
async fn identity(
    p: &mut Pull<'_>,
    conn: &mut Conn,
    route: &Route,
    image: &ImageRef,
    client_id: Option<&str>,
) -> Result<String, PullError> {
    let which = match client_id {
        Some(c) => format!("acrUserManagedIdentityID={c}"),
        None => "acrUseManagedIdentityCreds=true (system identity)".into(),
    };
    if p.epoch == Epoch::E2021_07 && route.kind == RouteKind::Vnet {
        let m = refused_anonymously(p, conn, image).await?;
        let w = why("a managed identity cannot be used for a pull over the VNET in this epoch").by(which);
        return Err(p.fail(Stage::Auth, Code::MiNotSupportedOverVnet, w.rule("auth.mi-2021-07"), m));
    }
    let entra = match p.arm.identity_token(&p.view.id, client_id).await? {
        IdentityToken::Issued(t) => t,
        IdentityToken::Refused(reason) => {
            let m = refused_anonymously(p, conn, image).await?;
            let w = why(format!("no token for the identity: {reason}")).by(which).rule("auth.mi");
            return Err(p.fail(Stage::Auth, Code::MiIdentityNotFound, w, m));
        }
    };
    let host = enc(&image.host);
    let form =
        format!("grant_type=access_token&service={host}&tenant={}&access_token={}", enc(&p.arm.tenant_id), enc(&entra));
    let exchanged = p.post_form(conn, "/oauth2/exchange", form).await?;
    let access = match exchanged.json()["refresh_token"].as_str() {
        Some(refresh) => {
            let scope = enc(&format!("repository:{}:pull", image.repo));
            let form = format!("grant_type=refresh_token&service={host}&scope={scope}&refresh_token={}", enc(refresh));
            let t = p.post_form(conn, "/oauth2/token", form).await?;
            t.json()["access_token"].as_str().map(str::to_string).ok_or(t)
        }
        None => Err(exchanged),
    };
    match access {
        Ok(t) => {
            p.trace.ok(Stage::Auth, "managed identity token exchanged for an ACR token", Some(which), Some("auth.mi"));
            Ok(t)
        }
        Err(refused) => {
            let w = why(format!("ACR refused the identity's token: {}", registry_error(&refused))).by(which);
            let m = docker_error(&manifest_url(image), &refused);
            Err(p.fail(Stage::Auth, Code::MiNoPullRole, w.rule("auth.mi"), m))
        }
    }
}

/// The admin user: Basic credentials for a repository token.
async fn admin(
    p: &mut Pull<'_>,
    conn: &mut Conn,
    image: &ImageRef,
    user: &str,
    password: &str,
) -> Result<String, PullError> {
    const DECIDED: &str = "DOCKER_REGISTRY_SERVER_USERNAME/PASSWORD";
    let scope = format!("repository:{}:pull", image.repo);
    let basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")));
    let path = format!("/oauth2/token?service={}&scope={}", enc(&image.host), enc(&scope));
    let t = p.get(conn, &path, &[("authorization", &basic)]).await?;
    match t.json()["access_token"].as_str() {
        Some(tok) if t.status == 200 => {
            p.trace.ok(
                Stage::Auth,
                format!("admin user {user} got a token for {scope}"),
                Some(DECIDED.into()),
                Some("auth.admin"),
            );
            Ok(tok.to_string())
        }
        _ => {
            let w = why(format!("ACR refused the admin credentials of {user}: {}", registry_error(&t))).by(DECIDED);
            let m = docker_error(&manifest_url(image), &t);
            Err(p.fail(Stage::Auth, Code::AcrUnauthorized, w.rule("auth.admin"), m))
        }
    }
}

/// No credential: the manifest is asked for anonymously, as from Docker Hub.
async fn anonymous(
    p: &mut Pull<'_>,
    conn: &mut Conn,
    image: &ImageRef,
    reason: &'static str,
) -> Result<Option<String>, PullError> {
    let anonymous = p.get(conn, &format!("/v2/{}/manifests/{}", image.repo, image.reference), &[]).await?;
    if anonymous.status == 401 {
        let w = why(format!("anonymous pull refused: {}", registry_error(&anonymous))).by(reason);
        let m = docker_error(&manifest_url(image), &anonymous);
        return Err(p.fail(Stage::Auth, Code::AcrUnauthorized, w.rule("image.dockerhub"), m));
    }
    p.trace.ok(Stage::Auth, "anonymous pull allowed", Some(reason.into()), None);
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(settings: &[(&str, &str)]) -> SiteView {
        SiteView {
            settings: settings.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            ..SiteView::default()
        }
    }

    #[test]
    fn a_managed_identity_wins_over_admin_credentials() {
        let mut v = site(&[("DOCKER_REGISTRY_SERVER_USERNAME", "u"), ("DOCKER_REGISTRY_SERVER_PASSWORD", "p")]);
        assert_eq!(Credential::of(&v, true), Credential::Admin { user: "u".into(), password: "p".into() });
        v.use_managed_identity = true;
        assert_eq!(Credential::of(&v, true), Credential::SystemIdentity);
        v.user_identity_client_id = Some("c".into());
        assert_eq!(Credential::of(&v, false), Credential::UserIdentity { client_id: "c".into() });
    }

    #[test]
    fn admin_credentials_for_another_registry_are_an_anonymous_pull() {
        let v = site(&[("DOCKER_REGISTRY_SERVER_USERNAME", "u"), ("DOCKER_REGISTRY_SERVER_PASSWORD", "p")]);
        assert_eq!(
            Credential::of(&v, false),
            Credential::Anonymous { why: "no DOCKER_REGISTRY_SERVER_URL for this registry" }
        );
        assert_eq!(
            Credential::of(&site(&[]), true),
            Credential::Anonymous { why: "no DOCKER_REGISTRY_SERVER_USERNAME/PASSWORD" }
        );
    }
}
