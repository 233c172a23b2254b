//! `wit/v0.2.0` in this crate is a copy of the workspace's `wit/v0.2.0`, the
//! contract's single source of truth (the host and wit-bindgen plugins read
//! that one). The copy exists because a published crate holds only its own
//! folder; this test fails as soon as the two differ. Not packaged: there is
//! no workspace beside a downloaded crate.

use std::collections::BTreeMap;
use std::path::Path;

fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display()));
    entries
        .map(|entry| {
            let path = entry.unwrap().path();
            assert!(
                path.is_file(),
                "{} is not a file: the WIT folder is flat",
                path.display()
            );
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect()
}

#[test]
fn the_packaged_wit_is_a_byte_identical_copy_of_the_workspace_wit() {
    // At run time, not baked in at build time: a build made in another
    // checkout (.ci/run's clone shares the target folder) must not read
    // that checkout.
    let manifest_dir =
        std::env::var("CARGO_MANIFEST_DIR").expect("cargo test sets CARGO_MANIFEST_DIR");
    let manifest = Path::new(&manifest_dir);
    let truth_dir = manifest.join("../../wit/v0.2.0");
    let copy_dir = manifest.join("wit/v0.2.0");
    let truth = files(&truth_dir);
    let copy = files(&copy_dir);
    assert!(!truth.is_empty(), "no WIT in {}", truth_dir.display());
    let names = |m: &BTreeMap<String, Vec<u8>>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        names(&copy),
        names(&truth),
        "sdk/macros/wit/v0.2.0 must hold the same files as wit/v0.2.0: \
         run `cp wit/v0.2.0/* sdk/macros/wit/v0.2.0/` (and delete what wit/v0.2.0 no longer has)"
    );
    for (name, bytes) in &truth {
        assert!(
            copy[name] == *bytes,
            "sdk/macros/wit/v0.2.0/{name} differs from wit/v0.2.0/{name}: \
             run `cp wit/v0.2.0/* sdk/macros/wit/v0.2.0/`"
        );
    }
}
