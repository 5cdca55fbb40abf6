//! The credential vault's own costs, in process: sealing and opening one
//! credential (AES-256-GCM), saving one to a file vault (SQLite WAL with
//! `synchronous = FULL`, so the save waits for the disk), saving one to an
//! in-memory vault, and reading one back (the decrypted cache).
//!
//! Run with `cargo bench --bench vault` (see benches/README.md). The
//! file-vault figure depends on the disk's flush latency far more than on
//! this code.

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use standin::platform::OrgId;
use standin::platform::credentials::cipher::VaultKey;
use standin::platform::credentials::{
    Credential, Kind, Vault, VaultLocation, access_token::AccessToken, basic_authentication::Basic,
};
use standin::secret::Secret;

fn credential(i: u64) -> Credential {
    Credential {
        name: format!("api-{i}"),
        kind: Kind::BasicAuthentication(Basic {
            username: "brand-partner".into(),
            password: Secret::new("brand-partner-password"),
        }),
        created_at: standin::clock::Instant::UNIX_EPOCH,
        updated_at: standin::clock::Instant::UNIX_EPOCH,
    }
}

fn bench(c: &mut Criterion) {
    let org = OrgId::parse("demo").unwrap();
    let key = VaultKey::ephemeral();
    let plain = vec![b'x'; 300];
    let mut group = c.benchmark_group("vault");
    group.bench_function("seal_300_bytes", |b| {
        b.iter(|| key.seal("standin-vault-v1\0credential\0demo\0api", &plain))
    });
    let sealed = key.seal("standin-vault-v1\0credential\0demo\0api", &plain);
    group.bench_function("open_300_bytes", |b| {
        b.iter(|| key.open("standin-vault-v1\0credential\0demo\0api", &sealed))
    });

    let memory = Vault::default();
    let mut i = 0u64;
    group.bench_function("save_in_memory", |b| {
        b.iter(|| {
            i += 1;
            memory.insert(&org, credential(i)).unwrap();
        })
    });

    let dir = std::env::temp_dir().join(format!(
        "standin-vault-bench-{}",
        standin::secret::random_token(6)
    ));
    let file = Vault::open(&VaultLocation::Dir(dir.clone()), None).unwrap();
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("save_to_file_fsync", |b| {
        b.iter(|| {
            i += 1;
            file.insert(&org, credential(i)).unwrap();
        })
    });
    file.insert(
        &org,
        Credential {
            name: "token".into(),
            kind: Kind::AccessToken(AccessToken {
                token: Secret::new("brand-static-token"),
                token_type: "Token".into(),
            }),
            created_at: standin::clock::Instant::UNIX_EPOCH,
            updated_at: standin::clock::Instant::UNIX_EPOCH,
        },
    )
    .unwrap();
    group.bench_function("read_cached", |b| b.iter(|| file.get(&org, "token")));
    eprintln!(
        "reopen_vault_file opens a vault of {} credentials",
        file.list(&org).len()
    );
    group.bench_function("reopen_vault_file", |b| {
        b.iter(|| Vault::open(&VaultLocation::Dir(dir.clone()), None).unwrap())
    });
    group.finish();
    drop(file);
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench);
criterion_main!(benches);
