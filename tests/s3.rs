//! The dataset on a real S3-compatible server: `moto` (PyPI, installed by
//! `.ci/run`) on loopback. Extraction to `s3://` must give the same table
//! files, export, manifest and snapshot archive as a local run.
//! Skipped, saying so, when moto is not installed.

#[path = "common/moto.rs"]
mod moto;

use std::path::{Path, PathBuf};

use moto::{aws_env, create_bucket, ksurf, ok, start_moto};

const BUCKET: &str = "ksurf-test";

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("extractor/tests/fixtures/bin")
        .join(format!("{name}.elf"))
        .display()
        .to_string()
}

/// Every file below `dir`, relative, sorted.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().to_owned());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn an_s3_dataset_equals_a_local_one() {
    let Some(moto) = start_moto() else {
        moto::report_skip("an_s3_dataset_equals_a_local_one");
        return;
    };
    let port = moto.port;
    create_bucket(port, BUCKET);

    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("ds");
    let local = local.to_str().unwrap();
    let remote = format!("s3://{BUCKET}/nightly/ds");
    let builds = ["x86_64-dwarf5", "aarch64"];
    for build in builds {
        for out in [local, remote.as_str()] {
            let o = ok(ksurf(port, &["extract", &fixture(build), "--out", out]));
            assert!(
                String::from_utf8_lossy(&o.stdout).contains(": 42 functions, 47 instances, "),
                "{}",
                String::from_utf8_lossy(&o.stdout)
            );
        }
    }

    // Same export, same table bytes.
    for image in [
        "debian/6.1.0-99-mini-amd64/amd64",
        "debian/6.1.0-99-mini-arm64/arm64",
    ] {
        let export = |ds: &str| {
            ok(ksurf(
                port,
                &[
                    "export",
                    "depsurf-groups",
                    "--dataset",
                    ds,
                    "--image",
                    image,
                ],
            ))
            .stdout
        };
        let want = export(local);
        assert_eq!(String::from_utf8_lossy(&want).lines().count(), 42);
        assert!(export(&remote) == want, "export of {image} differs");
    }
    // Read back through the dataset crate with the same environment: the
    // bucket holds exactly the local files, byte for byte.
    for (key, value) in aws_env(port) {
        std::env::set_var(key, value);
    }
    let on_s3 = ksurf_dataset::Dataset::open_existing(&remote).unwrap();
    let local_files = files(Path::new(local));
    assert_eq!(local_files.len(), 30);
    let listed: Vec<String> = on_s3
        .list(None)
        .unwrap()
        .into_iter()
        .map(|m| m.location.to_string())
        .collect();
    let want: Vec<String> = local_files
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    assert_eq!(listed, want);
    for rel in &want {
        let body = on_s3.get(&rel.as_str().into()).unwrap();
        assert!(
            body == std::fs::read(Path::new(local).join(rel)).unwrap(),
            "{rel} differs on S3"
        );
    }

    // The manifest lists the same files, so snapshots are byte-identical.
    for ds in [local, remote.as_str()] {
        ok(ksurf(port, &["manifest", "--dataset", ds]));
        ok(ksurf(port, &["verify", "--dataset", ds]));
    }
    assert_eq!(
        on_s3.get(&"_manifest.json".into()).unwrap(),
        std::fs::read(Path::new(local).join("_manifest.json")).unwrap()
    );
    let from_local = dir.path().join("dist-local");
    let from_s3 = dir.path().join("dist-s3");
    ok(ksurf(
        port,
        &[
            "publish",
            "--dataset",
            local,
            "--out",
            from_local.to_str().unwrap(),
        ],
    ));
    ok(ksurf(
        port,
        &[
            "publish",
            "--dataset",
            &remote,
            "--out",
            from_s3.to_str().unwrap(),
        ],
    ));
    let published = files(&from_local);
    assert_eq!(published.len(), 2);
    assert_eq!(files(&from_s3), published);
    for name in &published {
        assert!(
            std::fs::read(from_local.join(name)).unwrap()
                == std::fs::read(from_s3.join(name)).unwrap(),
            "{} differs",
            name.display()
        );
    }

    // Re-extracting over S3 keeps the dataset identical (marker removed
    // first, written last, every file replaced in one put).
    ok(ksurf(
        port,
        &["extract", &fixture("aarch64"), "--out", &remote],
    ));
    ok(ksurf(port, &["verify", "--dataset", &remote]));

    // A missing bucket is an error naming the object.
    let o = ksurf(
        port,
        &[
            "export",
            "depsurf-groups",
            "--dataset",
            "s3://no-such-bucket/ds",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.starts_with("ksurf: error: dataset location s3://no-such-bucket/ds/images: "),
        "{err}"
    );
}
