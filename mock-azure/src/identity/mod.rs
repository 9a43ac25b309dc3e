//! The fake Microsoft Entra ID: OpenID configuration, the client-credentials token
//! endpoint, and the signing keys ARM and the ACR verify tokens with.

pub mod token;

pub use token::{TokenError, TokenSigner};
