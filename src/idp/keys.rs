//! Signing keys, the JWKS, and rotation.
//!
//! Keys are parsed once and kept parsed: `jsonwebtoken` re-parses an RSA
//! private key on every signature, which costs a large share of an RSA-2048
//! signature, so tokens are signed here with the parsed `aws-lc-rs` key pair
//! (the same crypto backend `jsonwebtoken` uses) and laid out as JWS compact
//! serialisation (RFC 7515 section 7.1). Verification, JWK building and
//! thumbprints are `jsonwebtoken`'s.

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RSA_PKCS1_SHA256,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, EllipticCurveKeyParameters,
    EllipticCurveKeyType, Jwk, JwkSet, KeyAlgorithm, OctetKeyPairParameters, OctetKeyPairType,
    PublicKeyUse, RSAKeyParameters, RSAKeyType, ThumbprintHash,
};
use jsonwebtoken::{Algorithm, DecodingKey};
use rustls_pki_types::PrivatePkcs8KeyDer;
use rustls_pki_types::pem::PemObject;
use serde::{Deserialize, Serialize};
use sha2::Digest as _;

/// The JWS algorithms the IdP signs with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SigningAlg {
    RS256,
    ES256,
    EdDSA,
}

impl SigningAlg {
    pub const ALL: [SigningAlg; 3] = [SigningAlg::RS256, SigningAlg::ES256, SigningAlg::EdDSA];

    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlg::RS256 => "RS256",
            SigningAlg::ES256 => "ES256",
            SigningAlg::EdDSA => "EdDSA",
        }
    }

    /// The `jsonwebtoken` algorithm, for verification.
    pub fn jwt_algorithm(self) -> Algorithm {
        match self {
            SigningAlg::RS256 => Algorithm::RS256,
            SigningAlg::ES256 => Algorithm::ES256,
            SigningAlg::EdDSA => Algorithm::EdDSA,
        }
    }

    /// OIDC Core 3.1.3.6 `at_hash`/`c_hash`: the left half of the hash the
    /// signature algorithm uses (SHA-512 for Ed25519), base64url encoded.
    pub fn half_hash(self, value: &str) -> String {
        let digest: Vec<u8> = match self {
            SigningAlg::RS256 | SigningAlg::ES256 => {
                sha2::Sha256::digest(value.as_bytes()).to_vec()
            }
            SigningAlg::EdDSA => sha2::Sha512::digest(value.as_bytes()).to_vec(),
        };
        URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2])
    }
}

impl fmt::Display for SigningAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a key could not be loaded or made.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("not a PEM PKCS#8 private key: {0}")]
    Pem(String),
    #[error("the key is not a valid {alg} key: {reason}")]
    Rejected { alg: SigningAlg, reason: String },
}

enum Pair {
    Rsa(aws_lc_rs::rsa::KeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

/// One parsed signing key with its public JWK.
pub struct SigningKey {
    kid: String,
    alg: SigningAlg,
    pair: Pair,
    jwk: Jwk,
    decoding: DecodingKey,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Load a PEM `PRIVATE KEY` (PKCS#8) for `alg`.
    pub fn from_pem(alg: SigningAlg, pem: &[u8]) -> Result<Self, KeyError> {
        let der =
            PrivatePkcs8KeyDer::from_pem_slice(pem).map_err(|e| KeyError::Pem(e.to_string()))?;
        Self::from_pkcs8(alg, der.secret_pkcs8_der())
    }

    /// Load a PKCS#8 DER private key for `alg`.
    pub fn from_pkcs8(alg: SigningAlg, der: &[u8]) -> Result<Self, KeyError> {
        let rejected = |e: aws_lc_rs::error::KeyRejected| KeyError::Rejected {
            alg,
            reason: e.to_string(),
        };
        let pair = match alg {
            SigningAlg::RS256 => {
                Pair::Rsa(aws_lc_rs::rsa::KeyPair::from_pkcs8(der).map_err(rejected)?)
            }
            SigningAlg::ES256 => Pair::Ec(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                    .map_err(rejected)?,
            ),
            SigningAlg::EdDSA => {
                Pair::Ed(Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(rejected)?)
            }
        };
        Ok(Self::from_pair(alg, pair))
    }

    /// A fresh key. RSA generation takes tens to hundreds of milliseconds:
    /// it is for rotation at run time, never for start-up.
    pub fn generate(alg: SigningAlg) -> Result<Self, KeyError> {
        let failed = |_| KeyError::Rejected {
            alg,
            reason: "key generation failed".into(),
        };
        let pair = match alg {
            SigningAlg::RS256 => {
                Pair::Rsa(aws_lc_rs::rsa::KeyPair::generate(KeySize::Rsa2048).map_err(failed)?)
            }
            SigningAlg::ES256 => {
                Pair::Ec(EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).map_err(failed)?)
            }
            SigningAlg::EdDSA => Pair::Ed(Ed25519KeyPair::generate().map_err(failed)?),
        };
        Ok(Self::from_pair(alg, pair))
    }

    fn from_pair(alg: SigningAlg, pair: Pair) -> Self {
        let algorithm = match &pair {
            Pair::Rsa(k) => {
                let public = k.public_key();
                AlgorithmParameters::RSA(RSAKeyParameters {
                    key_type: RSAKeyType::RSA,
                    n: URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
                    e: URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
                })
            }
            Pair::Ec(k) => {
                // Uncompressed SEC1 point: 0x04 || x || y.
                let point = k.public_key().as_ref();
                AlgorithmParameters::EllipticCurve(EllipticCurveKeyParameters {
                    key_type: EllipticCurveKeyType::EC,
                    curve: EllipticCurve::P256,
                    x: URL_SAFE_NO_PAD.encode(&point[1..33]),
                    y: URL_SAFE_NO_PAD.encode(&point[33..65]),
                })
            }
            Pair::Ed(k) => AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
                key_type: OctetKeyPairType::OctetKeyPair,
                curve: EllipticCurve::Ed25519,
                x: URL_SAFE_NO_PAD.encode(k.public_key().as_ref()),
            }),
        };
        let mut jwk = Jwk {
            common: CommonParameters {
                public_key_use: Some(PublicKeyUse::Signature),
                key_algorithm: Some(match alg {
                    SigningAlg::RS256 => KeyAlgorithm::RS256,
                    SigningAlg::ES256 => KeyAlgorithm::ES256,
                    SigningAlg::EdDSA => KeyAlgorithm::EdDSA,
                }),
                ..Default::default()
            },
            algorithm,
        };
        // RFC 7638 thumbprint as the key id: stable for a key, distinct between keys.
        let kid = jwk
            .thumbprint(ThumbprintHash::SHA256)
            .expect("a public JWK built from a parsed key has a thumbprint");
        jwk.common.key_id = Some(kid.clone());
        let decoding = DecodingKey::from_jwk(&jwk).expect("a JWK built from a parsed key decodes");
        Self {
            kid,
            alg,
            pair,
            jwk,
            decoding,
        }
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn alg(&self) -> SigningAlg {
        self.alg
    }

    pub fn jwk(&self) -> &Jwk {
        &self.jwk
    }

    pub fn decoding_key(&self) -> &DecodingKey {
        &self.decoding
    }

    /// The private key as PKCS#8 DER (to persist a generated key).
    pub fn pkcs8_der(&self) -> Option<Vec<u8>> {
        match &self.pair {
            Pair::Rsa(k) => k.as_der().ok().map(|d| d.as_ref().to_vec()),
            Pair::Ec(k) => k.to_pkcs8v1().ok().map(|d| d.as_ref().to_vec()),
            Pair::Ed(k) => k.to_pkcs8v1().ok().map(|d| d.as_ref().to_vec()),
        }
    }

    /// Raw signature over `message`.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match &self.pair {
            Pair::Rsa(k) => {
                let mut sig = vec![0; k.public_modulus_len()];
                k.sign(&RSA_PKCS1_SHA256, &rng, message, &mut sig)
                    .expect("RSA signing with a parsed key does not fail");
                sig
            }
            Pair::Ec(k) => k
                .sign(&rng, message)
                .expect("ECDSA signing with a parsed key does not fail")
                .as_ref()
                .to_vec(),
            Pair::Ed(k) => k.sign(message).as_ref().to_vec(),
        }
    }

    /// A signed JWT (JWS compact serialisation) with `typ` in the header.
    pub fn sign_jwt(&self, typ: &str, claims: &impl Serialize) -> String {
        self.sign_jwt_as(typ, claims, &self.kid)
    }

    /// [`SigningKey::sign_jwt`] with `kid` in the header instead of the
    /// key's own (the `id_token_kid_unknown` quirk).
    pub fn sign_jwt_as(&self, typ: &str, claims: &impl Serialize, kid: &str) -> String {
        let header = serde_json::json!({ "alg": self.alg.as_str(), "typ": typ, "kid": kid });
        let mut out = URL_SAFE_NO_PAD.encode(header.to_string());
        out.push('.');
        out.push_str(
            &URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("claims serialise to JSON")),
        );
        let signature = self.sign(out.as_bytes());
        out.push('.');
        out.push_str(&URL_SAFE_NO_PAD.encode(signature));
        out
    }
}

/// The published keys: one active key per algorithm, plus retired keys
/// that stay in the JWKS until removed (tokens signed with them still
/// verify).
#[derive(Clone, Debug)]
pub struct KeySet {
    published: Vec<Arc<SigningKey>>,
    active: Vec<Arc<SigningKey>>,
}

impl KeySet {
    /// One active key per algorithm, from these keys.
    pub fn new(keys: Vec<SigningKey>) -> Self {
        let published: Vec<Arc<SigningKey>> = keys.into_iter().map(Arc::new).collect();
        let mut active = Vec::new();
        for alg in SigningAlg::ALL {
            if let Some(k) = published.iter().rev().find(|k| k.alg == alg) {
                active.push(k.clone());
            }
        }
        Self { published, active }
    }

    /// The key that signs with `alg` now.
    pub fn active(&self, alg: SigningAlg) -> Option<Arc<SigningKey>> {
        self.active.iter().find(|k| k.alg == alg).cloned()
    }

    /// A published key by `kid`.
    pub fn find(&self, kid: &str) -> Option<Arc<SigningKey>> {
        self.published.iter().find(|k| k.kid == kid).cloned()
    }

    /// Make `key` the active key for its algorithm; the old one stays published.
    pub fn rotate(&mut self, key: SigningKey) -> String {
        let key = Arc::new(key);
        let kid = key.kid.clone();
        self.active.retain(|k| k.alg != key.alg);
        self.active.push(key.clone());
        self.published.push(key);
        kid
    }

    /// Stop publishing a retired key. The active key of an algorithm cannot
    /// be removed.
    pub fn retire(&mut self, kid: &str) -> Result<(), RetireError> {
        if self.active.iter().any(|k| k.kid == kid) {
            return Err(RetireError::Active);
        }
        let before = self.published.len();
        self.published.retain(|k| k.kid != kid);
        if self.published.len() == before {
            return Err(RetireError::Unknown);
        }
        Ok(())
    }

    /// The JWKS document: public members only.
    pub fn jwks(&self) -> JwkSet {
        JwkSet {
            keys: self.published.iter().map(|k| k.jwk.clone()).collect(),
        }
    }

    /// Algorithms with an active key.
    pub fn algorithms(&self) -> Vec<SigningAlg> {
        self.active.iter().map(|k| k.alg).collect()
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum RetireError {
    Active,
    Unknown,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(alg: SigningAlg) -> SigningKey {
        let pem: &[u8] = match alg {
            SigningAlg::RS256 => include_bytes!("../../fixtures/keys/rs256.pem"),
            SigningAlg::ES256 => include_bytes!("../../fixtures/keys/es256.pem"),
            SigningAlg::EdDSA => include_bytes!("../../fixtures/keys/eddsa.pem"),
        };
        SigningKey::from_pem(alg, pem).unwrap()
    }

    #[test]
    fn signed_jwts_verify_with_jsonwebtoken() {
        for alg in SigningAlg::ALL {
            let key = fixture(alg);
            let jwt = key.sign_jwt("JWT", &serde_json::json!({"sub": "alice"}));
            let header = jsonwebtoken::decode_header(&jwt).unwrap();
            assert_eq!(header.kid.as_deref(), Some(key.kid()));
            let mut validation = jsonwebtoken::Validation::new(alg.jwt_algorithm());
            validation.required_spec_claims.clear();
            validation.validate_exp = false;
            let data =
                jsonwebtoken::decode::<serde_json::Value>(&jwt, key.decoding_key(), &validation)
                    .unwrap();
            assert_eq!(data.claims["sub"], "alice");
        }
    }

    #[test]
    fn rotation_keeps_the_old_key_published() {
        let mut set = KeySet::new(vec![fixture(SigningAlg::ES256)]);
        let old = set.active(SigningAlg::ES256).unwrap().kid().to_string();
        let new = set.rotate(SigningKey::generate(SigningAlg::ES256).unwrap());
        assert_ne!(old, new);
        assert_eq!(set.active(SigningAlg::ES256).unwrap().kid(), new);
        assert_eq!(set.jwks().keys.len(), 2);
        assert_eq!(set.retire(&new), Err(RetireError::Active));
        set.retire(&old).unwrap();
        assert_eq!(set.jwks().keys.len(), 1);
        assert_eq!(set.retire(&old), Err(RetireError::Unknown));
    }

    #[test]
    fn jwks_has_no_private_members() {
        let set = KeySet::new(SigningAlg::ALL.iter().map(|a| fixture(*a)).collect());
        let json = serde_json::to_value(set.jwks()).unwrap();
        for key in json["keys"].as_array().unwrap() {
            for private in ["d", "p", "q", "dp", "dq", "qi"] {
                assert!(key.get(private).is_none(), "{private} published in {key}");
            }
        }
    }
}
