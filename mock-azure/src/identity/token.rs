//! Signed JWT access tokens (ES256), as the fake Entra ID issues them and ARM and the
//! ACR verify them: signature, audience, expiry.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use serde_json::{Value, json};

/// Why a token was refused. ARM maps every variant to `InvalidAuthenticationToken`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not three base64url parts of JSON.
    #[error("the access token is malformed")]
    Malformed,
    /// The signature does not verify with pullsim's key.
    #[error("the access token signature is invalid")]
    BadSignature,
    /// `exp` is in the past.
    #[error("the access token has expired")]
    Expired,
    /// `aud` is not one this service accepts.
    #[error("the access token has an invalid audience '{0}'")]
    Audience(String),
    /// `nbf` is in the future.
    #[error("the access token is not valid before {0}")]
    NotYetValid(u64),
    /// `iss` does not name the tenant of `tid`.
    #[error("the access token's issuer '{0}' is not its tenant's")]
    Issuer(String),
}

/// Issues and verifies tokens with one P-256 key.
pub struct TokenSigner {
    key: EcdsaKeyPair,
    pkcs8: Vec<u8>,
    kid: String,
}

impl TokenSigner {
    /// A signer with a fresh key; fails only if the OS has no randomness.
    pub fn generate() -> Result<TokenSigner, ring::error::Unspecified> {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)?;
        Self::from_pkcs8(pkcs8.as_ref()).ok_or(ring::error::Unspecified)
    }

    /// A signer from a stored PKCS#8 key, or `None` if the bytes are not one.
    pub fn from_pkcs8(pkcs8: &[u8]) -> Option<TokenSigner> {
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8, &SystemRandom::new()).ok()?;
        let digest = ring::digest::digest(&ring::digest::SHA256, key.public_key().as_ref());
        let kid = B64.encode(&digest.as_ref()[..12]);
        Some(TokenSigner { key, pkcs8: pkcs8.to_vec(), kid })
    }

    /// The PKCS#8 key, for persisting in a state directory.
    pub fn pkcs8(&self) -> &[u8] {
        &self.pkcs8
    }

    /// Signs these claims into a compact JWT.
    pub fn sign(&self, claims: &Value) -> String {
        let header = json!({"typ": "JWT", "alg": "ES256", "kid": self.kid});
        let mut out = B64.encode(header.to_string());
        out.push('.');
        out.push_str(&B64.encode(claims.to_string()));
        // Signing with a valid key pair cannot fail except on RNG failure.
        let sig = self.key.sign(&SystemRandom::new(), out.as_bytes()).map(|s| s.as_ref().to_vec()).unwrap_or_default();
        out.push('.');
        out.push_str(&B64.encode(sig));
        out
    }

    /// Verifies signature, expiry and not-before (against `now`, seconds since the epoch;
    /// issuer and verifier share the clock, so no skew is allowed), that the audience is
    /// one of `audiences` (compared ignoring a trailing `/` and case) and, for a token
    /// that names a tenant (`tid`) and an issuer (`iss`), that the issuer is that
    /// tenant's; returns the claims. (Every token Entra issues carries both; tokens the
    /// harness mints with the key may leave `iss` out.)
    pub fn verify(&self, token: &str, audiences: &[&str], now: u64) -> Result<Value, TokenError> {
        let mut parts = token.split('.');
        let (Some(h), Some(c), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(TokenError::Malformed);
        };
        let sig = B64.decode(s).map_err(|_| TokenError::Malformed)?;
        let claims: Value =
            B64.decode(c).ok().and_then(|b| serde_json::from_slice(&b).ok()).ok_or(TokenError::Malformed)?;
        let public = ring::signature::UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, self.key.public_key().as_ref());
        let signed = &token[..h.len() + 1 + c.len()];
        public.verify(signed.as_bytes(), &sig).map_err(|_| TokenError::BadSignature)?;
        let exp = claims["exp"].as_u64().ok_or(TokenError::Malformed)?;
        if exp <= now {
            return Err(TokenError::Expired);
        }
        match claims.get("nbf").map(Value::as_u64) {
            Some(None) => return Err(TokenError::Malformed),
            Some(Some(nbf)) if nbf > now => return Err(TokenError::NotYetValid(nbf)),
            _ => {}
        }
        if let (Some(iss), Some(tid)) = (claims.get("iss"), claims.get("tid")) {
            let iss = iss.as_str().unwrap_or_default();
            if !tid.as_str().is_some_and(|t| issuer_names_tenant(iss, t)) {
                return Err(TokenError::Issuer(iss.to_string()));
            }
        }
        let aud = claims["aud"].as_str().unwrap_or_default();
        let norm = |a: &str| a.trim_end_matches('/').to_ascii_lowercase();
        if !audiences.iter().any(|a| norm(a) == norm(aud)) {
            return Err(TokenError::Audience(aud.to_string()));
        }
        Ok(claims)
    }

    /// The public key as a JWKS document (what `/discovery/v2.0/keys` serves).
    pub fn jwks(&self) -> Value {
        let public = self.key.public_key().as_ref();
        // Uncompressed point: 0x04 || X || Y.
        let (x, y) = public[1..].split_at(32);
        json!({"keys": [{
            "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256",
            "kid": self.kid, "x": B64.encode(x), "y": B64.encode(y),
        }]})
    }
}

/// Whether `iss` is an issuer of tenant `tid`: Entra's v1 (`https://sts.windows.net/<tid>/`)
/// and v2 (`https://login.microsoftonline.com/<tid>/v2.0`) forms both name the tenant as
/// their first path segment.
fn issuer_names_tenant(iss: &str, tid: &str) -> bool {
    let Some(rest) = iss.strip_prefix("https://") else { return false };
    let mut path = rest.split('/').skip(1);
    !tid.is_empty() && path.next().is_some_and(|seg| seg.eq_ignore_ascii_case(tid))
}

/// Tokens already verified, with their claims, so a client reusing its token (the CLI
/// does for an hour) is not re-verified on every request. Bounded; an entry is used only
/// while its `exp` is in the future, so expiry is still enforced.
#[derive(Default)]
pub struct VerifiedCache {
    map: std::sync::Mutex<std::collections::HashMap<String, Value>>,
}

impl VerifiedCache {
    const MAX: usize = 4096;

    /// The claims of `token` if it was verified and has not expired.
    pub fn get(&self, token: &str, now: u64) -> Option<Value> {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.get(token).filter(|c| c["exp"].as_u64().is_some_and(|exp| exp > now)).cloned()
    }

    /// Remembers a verified token (forgetting everything when full: simple and bounded).
    pub fn put(&self, token: &str, claims: &Value) {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= Self::MAX {
            map.clear();
        }
        map.insert(token.to_string(), claims.clone());
    }
}

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_round_trips_and_rejects_tampering() {
        let s = TokenSigner::generate().unwrap();
        let t = s.sign(&json!({"aud": "https://management.core.windows.net/", "exp": 2000}));
        assert!(s.verify(&t, &["https://management.core.windows.net"], 1000).is_ok());
        assert_eq!(s.verify(&t, &["https://management.core.windows.net/"], 3000), Err(TokenError::Expired));
        assert!(matches!(s.verify(&t, &["https://other/"], 1000), Err(TokenError::Audience(_))));
        let other = TokenSigner::generate().unwrap();
        assert_eq!(other.verify(&t, &["https://management.core.windows.net/"], 1000), Err(TokenError::BadSignature));
        assert_eq!(s.verify("a.b", &[], 0), Err(TokenError::Malformed));
    }

    #[test]
    fn tokens_before_their_nbf_or_from_another_tenants_issuer_are_refused() {
        let s = TokenSigner::generate().unwrap();
        let aud = ["https://management.core.windows.net/"];
        let tid = "72f988bf-0000-4000-8000-00000000c0de";
        let token =
            |nbf: u64, iss: &str| s.sign(&json!({"aud": aud[0], "exp": 5000, "nbf": nbf, "tid": tid, "iss": iss}));
        let ours = format!("https://sts.windows.net/{tid}/");
        assert!(s.verify(&token(1000, &ours), &aud, 1000).is_ok());
        assert!(s.verify(&token(1000, &format!("https://login.microsoftonline.com/{tid}/v2.0")), &aud, 1000).is_ok());
        assert_eq!(s.verify(&token(1600, &ours), &aud, 1000), Err(TokenError::NotYetValid(1600)));
        let other = "https://sts.windows.net/00000000-0000-0000-0000-000000000bad/";
        assert_eq!(s.verify(&token(1000, other), &aud, 1000), Err(TokenError::Issuer(other.into())));
        assert!(matches!(s.verify(&token(1000, ""), &aud, 1000), Err(TokenError::Issuer(_))));
        let no_iss = s.sign(&json!({"aud": aud[0], "exp": 5000, "tid": tid}));
        assert!(s.verify(&no_iss, &aud, 1000).is_ok());
    }
}
