//! pullsim's certificate authority and the TLS server configurations built from it.
//!
//! Every HTTPS endpoint (ARM, identity, later the ACR login and data endpoints) presents
//! a certificate issued by one CA that pullsim generates. Users point their clients at
//! its PEM (`REQUESTS_CA_BUNDLE` for the Azure CLI, `--cert-dir` for skopeo). Keys are
//! ECDSA P-256: RSA handshakes cost about three times more (bench/README.md).

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::sign::CertifiedKey;

/// Why a certificate could not be made or loaded.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// Certificate generation failed.
    #[error("generating a certificate for {what}: {source}")]
    Generate {
        /// What was being generated.
        what: String,
        /// The rcgen error.
        source: rcgen::Error,
    },
    /// Reading or writing the CA files failed.
    #[error("CA file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// rustls refused the configuration.
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    /// The system's random generator failed while making a key.
    #[error("generating {what}: the system random generator failed")]
    Random {
        /// What was being generated.
        what: &'static str,
    },
}

/// The CA that signs every pullsim endpoint certificate.
pub struct Ca {
    cert_pem: String,
    issuer: Issuer<'static, KeyPair>,
    /// What this CA issued and built, kept: every environment sharing the CA (the
    /// scenarios `pullsim run` runs) reuses them instead of generating keys again.
    made: Made,
}

#[derive(Default)]
struct Made {
    certified: Mutex<HashMap<String, Arc<CertifiedKey>>>,
    servers: Mutex<HashMap<String, Arc<rustls::ServerConfig>>>,
    client: OnceLock<Arc<rustls::ClientConfig>>,
}

/// A certificate chain and its key, ready for a TLS server.
pub struct Leaf {
    /// Leaf certificate followed by the CA.
    pub chain: Vec<CertificateDer<'static>>,
    /// PKCS#8 private key.
    pub key: PrivatePkcs8KeyDer<'static>,
    /// The leaf in PEM.
    pub cert_pem: String,
    /// The key in PEM.
    pub key_pem: String,
}

impl Ca {
    /// Generates a fresh CA.
    pub fn generate() -> Result<Ca, TlsError> {
        let gen_err = |source| TlsError::Generate { what: "the CA".into(), source };
        let key = KeyPair::generate().map_err(gen_err)?;
        let mut params = CertificateParams::default();
        params.distinguished_name.push(DnType::CommonName, "pullsim local CA");
        params.distinguished_name.push(DnType::OrganizationName, "pullsim");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.not_before = time::OffsetDateTime::now_utc() - time::Duration::days(1);
        params.not_after = time::OffsetDateTime::now_utc() + time::Duration::days(3650);
        let cert = params.self_signed(&key).map_err(gen_err)?;
        let cert_pem = cert.pem();
        Ok(Ca { cert_pem, issuer: Issuer::new(params, key), made: Made::default() })
    }

    /// Loads the CA from `dir/ca.pem` + `dir/ca-key.pem`, or generates and writes one
    /// there (so clients that trust it keep trusting it across restarts).
    pub fn load_or_generate(dir: &Path) -> Result<Ca, TlsError> {
        let cert_path = dir.join("ca.pem");
        let key_path = dir.join("ca-key.pem");
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| TlsError::Io { path, source }
        };
        if cert_path.exists() && key_path.exists() {
            keep_private(&key_path)?;
            let cert_pem = std::fs::read_to_string(&cert_path).map_err(io(&cert_path))?;
            let key_pem = std::fs::read_to_string(&key_path).map_err(io(&key_path))?;
            let gen_err = |source| TlsError::Generate { what: "the stored CA".into(), source };
            let key = KeyPair::from_pem(&key_pem).map_err(gen_err)?;
            let issuer = Issuer::from_ca_cert_pem(&cert_pem, key).map_err(gen_err)?;
            return Ok(Ca { cert_pem, issuer, made: Made::default() });
        }
        let ca = Ca::generate()?;
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        write_private(&key_path, ca.issuer.key().serialize_pem().as_bytes())?;
        write_atomic(&cert_path, ca.cert_pem.as_bytes())?;
        Ok(ca)
    }

    /// The CA certificate in PEM, for clients to trust.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// Issues a server certificate for these names and addresses.
    pub fn issue(&self, dns_names: &[&str], ips: &[IpAddr]) -> Result<Leaf, TlsError> {
        let what = dns_names.first().map(|s| s.to_string()).unwrap_or_else(|| "an address".into());
        let gen_err = |source| TlsError::Generate { what: what.clone(), source };
        let key = KeyPair::generate().map_err(gen_err)?;
        let mut params = CertificateParams::default();
        params.distinguished_name.push(DnType::CommonName, dns_names.first().copied().unwrap_or("pullsim"));
        for name in dns_names {
            let name = (*name).try_into().map_err(gen_err)?;
            params.subject_alt_names.push(SanType::DnsName(name));
        }
        for ip in ips {
            params.subject_alt_names.push(SanType::IpAddress(*ip));
        }
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.not_before = time::OffsetDateTime::now_utc() - time::Duration::days(1);
        params.not_after = time::OffsetDateTime::now_utc() + time::Duration::days(825);
        let cert = params.signed_by(&key, &self.issuer).map_err(gen_err)?;
        let ca_der = CertificateDer::from_pem_slice(self.cert_pem.as_bytes()).ok();
        let mut chain = vec![cert.der().clone()];
        chain.extend(ca_der);
        Ok(Leaf {
            chain,
            key: PrivatePkcs8KeyDer::from(key.serialize_der()),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    /// A certificate and key for one host name, issued once and kept (the ACR's
    /// per-SNI certificates).
    pub fn certified(&self, name: &str) -> Result<Arc<CertifiedKey>, TlsError> {
        if let Some(k) = self.made.certified.lock().unwrap_or_else(|e| e.into_inner()).get(name) {
            return Ok(k.clone());
        }
        let leaf = self.issue(&[name], &[])?;
        let key = provider().key_provider.load_private_key(PrivateKeyDer::Pkcs8(leaf.key))?;
        let k = Arc::new(CertifiedKey::new(leaf.chain, key));
        self.made.certified.lock().unwrap_or_else(|e| e.into_inner()).insert(name.to_string(), k.clone());
        Ok(k)
    }

    /// A rustls server configuration for these names and addresses (HTTP/1.1), built once
    /// per set of names and addresses and kept.
    pub fn server_config(&self, dns_names: &[&str], ips: &[IpAddr]) -> Result<Arc<rustls::ServerConfig>, TlsError> {
        let key = format!("{dns_names:?} {ips:?}");
        if let Some(c) = self.made.servers.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return Ok(c.clone());
        }
        let leaf = self.issue(dns_names, ips)?;
        let mut cfg = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(leaf.chain, PrivateKeyDer::Pkcs8(leaf.key))?;
        cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
        let cfg = Arc::new(cfg);
        self.made.servers.lock().unwrap_or_else(|e| e.into_inner()).insert(key, cfg.clone());
        Ok(cfg)
    }

    /// A rustls client configuration that trusts only this CA (for tests and the worker),
    /// built once and shared (with its session cache).
    pub fn client_config(&self) -> Result<Arc<rustls::ClientConfig>, TlsError> {
        if let Some(c) = self.made.client.get() {
            return Ok(c.clone());
        }
        let mut roots = rustls::RootCertStore::empty();
        for der in CertificateDer::pem_slice_iter(self.cert_pem.as_bytes()).flatten() {
            roots.add(der)?;
        }
        let cfg = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(self.made.client.get_or_init(|| Arc::new(cfg)).clone())
    }
}

use rustls::pki_types::pem::PemObject;

/// The key that signs pullsim's tokens, kept beside the CA in `dir/token-key.pk8`:
/// loaded, or generated and written there the first time (so tokens a client holds stay
/// valid across restarts). An unreadable key file is replaced, with a warning.
pub fn load_or_generate_signer(dir: &Path) -> Result<crate::identity::TokenSigner, TlsError> {
    use crate::identity::TokenSigner;
    let path = dir.join("token-key.pk8");
    if let Ok(bytes) = std::fs::read(&path) {
        keep_private(&path)?;
        if let Some(s) = TokenSigner::from_pkcs8(&bytes) {
            return Ok(s);
        }
        tracing::warn!(path = %path.display(), "token key unreadable; generating a new one");
    }
    let s = TokenSigner::generate().map_err(|_| TlsError::Random { what: "the token key" })?;
    std::fs::create_dir_all(dir).map_err(|source| TlsError::Io { path: dir.to_path_buf(), source })?;
    write_private(&path, s.pkcs8())?;
    Ok(s)
}

/// The one crypto provider pullsim uses (ring), passed explicitly so no process-wide
/// default has to be chosen between crates that would pick different ones.
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Writes a file atomically: a temporary sibling, fsynced, then renamed over the target.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), TlsError> {
    write_with_mode(path, bytes, 0o666)
}

/// [`write_atomic`] for a private key: readable and writable by its owner only (0600)
/// from the moment the file exists.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), TlsError> {
    write_with_mode(path, bytes, 0o600)
}

/// Narrows a stored private key to 0600 (one written by an older pullsim was 0644).
pub fn keep_private(path: &Path) -> Result<(), TlsError> {
    use std::os::unix::fs::PermissionsExt;
    let io = |source| TlsError::Io { path: path.to_path_buf(), source };
    let mode = std::fs::metadata(path).map_err(io)?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        tracing::info!(path = %path.display(), "private key was mode {mode:o}; now 600");
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
    }
    Ok(())
}

fn write_with_mode(path: &Path, bytes: &[u8], mode: u32) -> Result<(), TlsError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let io = |source| TlsError::Io { path: path.to_path_buf(), source };
    let tmp = path.with_extension("tmp");
    // A leftover of a crash may have other permissions: start anew (the umask can only
    // narrow `mode`).
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(mode).open(&tmp).map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    f.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_token_key_is_reloaded_and_a_damaged_one_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let a = load_or_generate_signer(dir.path()).unwrap();
        let b = load_or_generate_signer(dir.path()).unwrap();
        assert_eq!(a.pkcs8(), b.pkcs8());
        std::fs::write(dir.path().join("token-key.pk8"), b"not a key").unwrap();
        let c = load_or_generate_signer(dir.path()).unwrap();
        assert_ne!(c.pkcs8(), a.pkcs8());
    }

    #[test]
    fn stored_ca_is_reloaded_not_regenerated() {
        let dir = tempfile::tempdir().unwrap();
        let a = Ca::load_or_generate(dir.path()).unwrap();
        let b = Ca::load_or_generate(dir.path()).unwrap();
        assert_eq!(a.cert_pem(), b.cert_pem());
        use std::os::unix::fs::PermissionsExt;
        let mode = |f: &str| std::fs::metadata(dir.path().join(f)).unwrap().permissions().mode() & 0o777;
        assert_eq!((mode("ca-key.pem"), mode("ca.pem")), (0o600, 0o644));
        b.server_config(&["localhost"], &["127.0.0.1".parse().unwrap()]).unwrap();
    }
}
