//! The store's rules for a code or a refresh token presented at the token
//! endpoint: what is counted, what is refused, and what a replay revokes.
//! The token endpoint ([`crate::idp::token`]) checks the request against
//! the record (`redirect_uri`, PKCE, scope) through the `check` it passes
//! and says how to answer; the store decides what the presentation does to
//! the records, under one lock.
//!
//! - A code is used once (RFC 6749 4.1.2, 10.5). Presented again, the
//!   access tokens issued from it and the refresh family it started are
//!   revoked, and so are tokens still being minted for its first use
//!   ([`Records::complete_code_exchange`] records those revoked).
//! - A refresh token whose family was revoked, or which was itself, is
//!   refused. One exchanged for a successor (rotation) and presented again
//!   is reuse (RFC 9700 4.14.2): refused, and the whole family revoked when
//!   the client is registered so.

use super::{AccessDraft, CodeRecord, FamilyId, Full, Records, RefreshDraft, TokenId};
use crate::clock::Instant;

/// Why a presented code is refused. `E` is what the endpoint's own check
/// of the request found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeRefusal<E> {
    /// Never issued, or forgotten.
    Unknown,
    /// Issued to another client.
    OtherClient,
    /// Presented again after its use: what it produced is now revoked.
    Replayed,
    /// Past its lifetime.
    Expired,
    /// The endpoint's check of the request refused it; nothing changed
    /// but the presentation count.
    Check(E),
}

/// Why a presented refresh token is refused. `E` is what the endpoint's
/// own check of the request found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshRefusal<E> {
    /// Never issued, or forgotten.
    Unknown,
    /// Issued to another client.
    OtherClient,
    /// Revoked, itself or with its family.
    Revoked,
    /// Rotated, and presented again; `family_revoked` when the client's
    /// registration made that revoke its whole family.
    Reused { family_revoked: bool },
    /// Past its lifetime.
    Expired,
    /// The endpoint's check of the request refused it; nothing changed
    /// but the presentation count.
    Check(E),
}

/// What a code grants, read once it is checked and marked used.
#[derive(Debug, Clone)]
pub struct RedeemedCode {
    pub sub: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub auth_time: Instant,
    /// The refresh family the exchange starts, when it issues a refresh
    /// token.
    pub family: Option<FamilyId>,
}

/// What a refresh token grants, read once it is checked.
#[derive(Debug, Clone)]
pub struct RedeemedRefresh {
    pub sub: String,
    /// The scope of the original grant.
    pub scope: String,
    pub family: FamilyId,
    pub auth_time: Instant,
}

/// How a client's refresh tokens behave (its registration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    /// Each use gives a successor; the used one cannot be used again.
    pub rotate: bool,
    /// Reuse of a rotated token revokes its whole family.
    pub reuse_revokes_family: bool,
}

impl Records {
    /// Present code `id` for `client_id` at `now`: counted; refused when
    /// unknown, another client's, already used (then what it produced is
    /// revoked, unless `reusable`: a quirk of a broken IdP) or expired, or
    /// when `check` refuses the request. Otherwise it is marked used and a
    /// refresh family started when `refresh` says the exchange issues a
    /// refresh token.
    pub fn redeem_code<E>(
        &mut self,
        id: &TokenId,
        client_id: &str,
        now: Instant,
        reusable: bool,
        refresh: bool,
        check: impl FnOnce(&CodeRecord) -> Result<(), E>,
    ) -> Result<RedeemedCode, CodeRefusal<E>> {
        let client = self.find(client_id);
        let Some(record) = self.codes.get_mut(id) else {
            return Err(CodeRefusal::Unknown);
        };
        record.presented = record.presented.saturating_add(1);
        if Some(record.client) != client {
            return Err(CodeRefusal::OtherClient);
        }
        if record.used && !reusable {
            record.replayed = true;
            let (access, family) = (record.access_tokens.clone(), record.family);
            for a in access {
                if let Some(a) = self.access.get_mut(&a) {
                    a.revoked = true;
                }
            }
            if let Some(family) = family {
                self.revoke_family(family);
            }
            return Err(CodeRefusal::Replayed);
        }
        if now >= record.expires_at {
            return Err(CodeRefusal::Expired);
        }
        check(record).map_err(CodeRefusal::Check)?;
        record.used = true;
        let (sub, scope) = (record.sub, record.scope);
        let (nonce, auth_time) = (record.nonce.clone(), record.auth_time);
        let family = refresh.then(|| self.new_family());
        Ok(RedeemedCode {
            sub: self.text(sub).to_string(),
            scope: self.text(scope).to_string(),
            nonce,
            auth_time,
            family,
        })
    }

    /// Record the tokens minted for code `id`'s exchange. A replay that
    /// arrived while they were minted makes them born revoked, with their
    /// family. At the ceiling nothing is recorded and the code may be
    /// exchanged again once there is room (unless a replay burnt it).
    pub fn complete_code_exchange(
        &mut self,
        id: &TokenId,
        mut access: AccessDraft<'_>,
        refresh: Option<RefreshDraft<'_>>,
        family: Option<FamilyId>,
        now: Instant,
    ) -> Result<(), Full> {
        let replayed = self.codes.get(id).is_some_and(|c| c.replayed);
        access.revoked = replayed;
        let access_id = access.id;
        if let Err(full) = self.insert_tokens(access, refresh, now) {
            if let Some(code) = self.codes.get_mut(id)
                && !code.replayed
            {
                code.used = false;
            }
            return Err(full);
        }
        if let Some(code) = self.codes.get_mut(id) {
            code.access_tokens.push(access_id);
        }
        if let Some(family) = family {
            self.set_code_family(id, family);
            if replayed {
                self.revoke_family(family);
            }
        }
        Ok(())
    }

    /// Present refresh token `id` for `client_id` at `now`: counted;
    /// refused when unknown, another client's, revoked (itself or its
    /// family), reused after rotation (its family revoked when `rotation`
    /// says so) or expired, or when `check` refuses the request (given the
    /// original grant's scope). Otherwise marked rotated when the client
    /// rotates.
    pub fn redeem_refresh<E>(
        &mut self,
        id: &TokenId,
        client_id: &str,
        now: Instant,
        rotation: Rotation,
        check: impl FnOnce(&str) -> Result<(), E>,
    ) -> Result<RedeemedRefresh, RefreshRefusal<E>> {
        let client = self.find(client_id);
        let family_revoked = self
            .refresh
            .get(id)
            .is_some_and(|r| self.family_revoked(r.family));
        let Some(record) = self.refresh.get_mut(id) else {
            return Err(RefreshRefusal::Unknown);
        };
        record.presented = record.presented.saturating_add(1);
        if Some(record.client) != client {
            return Err(RefreshRefusal::OtherClient);
        }
        if record.revoked || family_revoked {
            return Err(RefreshRefusal::Revoked);
        }
        if record.rotated {
            let family = record.family;
            if rotation.reuse_revokes_family {
                self.revoke_family(family);
            }
            return Err(RefreshRefusal::Reused {
                family_revoked: rotation.reuse_revokes_family,
            });
        }
        if now >= record.expires_at {
            return Err(RefreshRefusal::Expired);
        }
        let (sub, scope, family, auth_time) =
            (record.sub, record.scope, record.family, record.auth_time);
        check(self.symbols.text(scope)).map_err(RefreshRefusal::Check)?;
        if rotation.rotate
            && let Some(record) = self.refresh.get_mut(id)
        {
            record.rotated = true;
        }
        Ok(RedeemedRefresh {
            sub: self.text(sub).to_string(),
            scope: self.text(scope).to_string(),
            family,
            auth_time,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Limits, Scope};
    use super::*;
    use crate::idp::fixtures::TokenFormat;
    use crate::idp::state::Grant;

    fn at(secs: i64) -> Instant {
        Instant::from_unix_secs(secs)
    }

    fn scope() -> Scope {
        Scope::parse("openid orders:read")
    }

    /// A store holding code "code" of client "bot", expiring at 60.
    fn with_code(max_records: usize) -> Records {
        let mut r = Records::new(Limits {
            max_records,
            ..Limits::default()
        });
        let scope = scope();
        r.insert_code(
            super::super::CodeDraft {
                id: TokenId::of("code"),
                client_id: "bot",
                sub: "alice",
                scope: &scope,
                redirect_uri_param: None,
                nonce: Some("n".into()),
                pkce: None,
                auth_time: at(0),
                issued_at: at(0),
                expires_at: at(60),
            },
            at(0),
        )
        .unwrap();
        r
    }

    fn access<'a>(value: &str, family: Option<FamilyId>) -> AccessDraft<'a> {
        AccessDraft {
            id: TokenId::of(value),
            client_id: "bot",
            sub: Some("alice"),
            scope: "openid orders:read",
            audience: "brand-api",
            format: TokenFormat::Opaque,
            grant: Grant::AuthorizationCode,
            issued_at: at(1),
            expires_at: at(301),
            auth_time: Some(at(0)),
            family,
            revoked: false,
            binding: None,
        }
    }

    fn refresh<'a>(value: &str, family: FamilyId) -> RefreshDraft<'a> {
        RefreshDraft {
            id: TokenId::of(value),
            client_id: "bot",
            sub: "alice",
            scope: "openid orders:read",
            family,
            auth_time: at(0),
            issued_at: at(1),
            expires_at: at(3601),
        }
    }

    fn ok(_: &CodeRecord) -> Result<(), &'static str> {
        Ok(())
    }

    fn redeem(
        r: &mut Records,
        client: &str,
        now: i64,
    ) -> Result<RedeemedCode, CodeRefusal<&'static str>> {
        r.redeem_code(&TokenId::of("code"), client, at(now), false, true, ok)
    }

    /// Exchange the code once: access token "a1" and refresh token "r1".
    fn exchanged() -> (Records, FamilyId) {
        let mut r = with_code(100);
        let grant = redeem(&mut r, "bot", 1).unwrap();
        assert_eq!(
            (grant.sub.as_str(), grant.scope.as_str()),
            ("alice", "openid orders:read")
        );
        let family = grant.family.expect("a refresh family");
        r.complete_code_exchange(
            &TokenId::of("code"),
            access("a1", Some(family)),
            Some(refresh("r1", family)),
            Some(family),
            at(1),
        )
        .unwrap();
        (r, family)
    }

    #[test]
    fn a_replayed_code_revokes_its_tokens_and_their_family() {
        let (mut r, _) = exchanged();
        assert!(!r.access_revoked(r.access(&TokenId::of("a1")).unwrap()));
        assert_eq!(redeem(&mut r, "bot", 2).unwrap_err(), CodeRefusal::Replayed);
        assert!(r.access_revoked(r.access(&TokenId::of("a1")).unwrap()));
        assert!(r.refresh_revoked(r.refresh(&TokenId::of("r1")).unwrap()));
        assert_eq!(r.code(&TokenId::of("code")).unwrap().presented, 2);
    }

    #[test]
    fn tokens_minted_while_a_replay_arrives_are_born_revoked() {
        let mut r = with_code(100);
        let family = redeem(&mut r, "bot", 1).unwrap().family.unwrap();
        // The replay arrives before the first exchange has recorded its tokens.
        assert_eq!(redeem(&mut r, "bot", 1).unwrap_err(), CodeRefusal::Replayed);
        r.complete_code_exchange(
            &TokenId::of("code"),
            access("a1", Some(family)),
            Some(refresh("r1", family)),
            Some(family),
            at(1),
        )
        .unwrap();
        assert!(r.access_revoked(r.access(&TokenId::of("a1")).unwrap()));
        assert!(r.refresh_revoked(r.refresh(&TokenId::of("r1")).unwrap()));
    }

    #[test]
    fn a_code_is_refused_to_another_client_when_expired_and_when_the_check_says_so() {
        let mut r = with_code(100);
        assert_eq!(
            redeem(&mut r, "other", 1).unwrap_err(),
            CodeRefusal::OtherClient
        );
        assert_eq!(redeem(&mut r, "bot", 60).unwrap_err(), CodeRefusal::Expired);
        let refused = r.redeem_code(&TokenId::of("code"), "bot", at(1), false, false, |_| {
            Err("redirect_uri differs")
        });
        assert_eq!(
            refused.unwrap_err(),
            CodeRefusal::Check("redirect_uri differs")
        );
        // None of these used it up.
        assert!(redeem(&mut r, "bot", 1).is_ok());
        assert_eq!(
            r.redeem_code(&TokenId::of("nope"), "bot", at(1), false, false, ok)
                .unwrap_err(),
            CodeRefusal::Unknown
        );
    }

    #[test]
    fn an_exchange_refused_at_the_ceiling_leaves_the_code_usable() {
        // Room for the code and one token; the exchange needs two.
        let mut r = with_code(2);
        let family = redeem(&mut r, "bot", 1).unwrap().family.unwrap();
        let full = r.complete_code_exchange(
            &TokenId::of("code"),
            access("a1", Some(family)),
            Some(refresh("r1", family)),
            Some(family),
            at(1),
        );
        assert!(full.is_err());
        assert!(!r.code(&TokenId::of("code")).unwrap().used);
        assert!(redeem(&mut r, "bot", 2).is_ok());
    }

    fn use_refresh(
        r: &mut Records,
        value: &str,
        rotation: Rotation,
    ) -> Result<RedeemedRefresh, RefreshRefusal<()>> {
        r.redeem_refresh(&TokenId::of(value), "bot", at(10), rotation, |granted| {
            assert_eq!(granted, "openid orders:read");
            Ok(())
        })
    }

    const ROTATE: Rotation = Rotation {
        rotate: true,
        reuse_revokes_family: true,
    };

    #[test]
    fn a_rotated_refresh_token_used_again_revokes_its_family_when_registered_so() {
        let (mut r, family) = exchanged();
        let grant = use_refresh(&mut r, "r1", ROTATE).unwrap();
        assert_eq!(grant.family, family);
        r.insert_refresh(refresh("r2", family), at(10)).unwrap();
        assert_eq!(
            use_refresh(&mut r, "r1", ROTATE).unwrap_err(),
            RefreshRefusal::Reused {
                family_revoked: true
            }
        );
        // The successor and the first access token went with the family.
        assert_eq!(
            use_refresh(&mut r, "r2", ROTATE).unwrap_err(),
            RefreshRefusal::Revoked
        );
        assert!(r.access_revoked(r.access(&TokenId::of("a1")).unwrap()));
    }

    #[test]
    fn reuse_without_family_revocation_refuses_only_the_reused_token() {
        let (mut r, family) = exchanged();
        let keep = Rotation {
            rotate: true,
            reuse_revokes_family: false,
        };
        use_refresh(&mut r, "r1", keep).unwrap();
        r.insert_refresh(refresh("r2", family), at(10)).unwrap();
        assert_eq!(
            use_refresh(&mut r, "r1", keep).unwrap_err(),
            RefreshRefusal::Reused {
                family_revoked: false
            }
        );
        assert!(use_refresh(&mut r, "r2", keep).is_ok());
    }

    #[test]
    fn without_rotation_a_refresh_token_serves_again_until_it_expires() {
        let (mut r, _) = exchanged();
        let once = Rotation {
            rotate: false,
            reuse_revokes_family: true,
        };
        assert!(use_refresh(&mut r, "r1", once).is_ok());
        assert!(use_refresh(&mut r, "r1", once).is_ok());
        let late = r.redeem_refresh(&TokenId::of("r1"), "bot", at(3601), once, |_| {
            Ok::<(), ()>(())
        });
        assert_eq!(late.unwrap_err(), RefreshRefusal::Expired);
        let other = r.redeem_refresh(&TokenId::of("r1"), "other", at(10), once, |_| {
            Ok::<(), ()>(())
        });
        assert_eq!(other.unwrap_err(), RefreshRefusal::OtherClient);
    }
}
