// The workspace's guest crates, shared by host/build.rs (which builds them)
// and tests/artifacts/build.rs (which names their components): `include!`d by
// both build scripts, which depend on `toml`.

/// Folders whose subfolders (or which themselves) hold guest crates.
const GUEST_DIRS: &[&str] = &["plugins", "examples", "tests/guests", "tests/hostile"];

/// Package names of the guest crates: those with a `cdylib` library.
fn find_guests(root: &std::path::Path) -> Vec<String> {
    let mut names = Vec::new();
    for dir in GUEST_DIRS {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        let mut paths: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        paths.sort();
        for path in paths {
            let Ok(text) = std::fs::read_to_string(path.join("Cargo.toml")) else {
                continue;
            };
            let Ok(manifest) = text.parse::<toml::Table>() else {
                continue;
            };
            let is_guest = manifest
                .get("lib")
                .and_then(|l| l.get("crate-type"))
                .and_then(|t| t.as_array())
                .is_some_and(|types| types.iter().any(|t| t.as_str() == Some("cdylib")));
            let name = manifest
                .get("package")
                .and_then(|p| p.get("name"))
                .and_then(|n| n.as_str());
            if let (true, Some(name)) = (is_guest, name) {
                names.push(name.to_string());
            }
        }
    }
    names
}

