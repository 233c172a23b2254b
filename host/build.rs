//! Builds the workspace's guest crates (the prebuilt plugins, the examples and
//! the hostile test plugins) into wasm32-wasip2 components in
//! `<workspace>/target/plugins/`, so that a fresh clone needs no build step of its
//! own: `cargo run -p leadwire` and `cargo test --workspace` just work.
//! Like wasmtime's test-programs, it runs a nested cargo with its own target dir.

use std::path::{Path, PathBuf};
use std::process::Command;

// GUEST_DIRS and find_guests, shared with the test-artifacts crate, which
// names each component built here as a constant.
include!("../tests/artifacts/guests.rs");

fn main() {
    let started = std::time::SystemTime::now();
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest.parent().unwrap().to_path_buf();
    // Before any early return: otherwise cargo would not rerun this script
    // when the variable is unset again.
    println!("cargo:rerun-if-env-changed=LEADWIRE_SKIP_PLUGIN_BUILD");
    if !root.join("plugins").is_dir() || std::env::var_os("LEADWIRE_SKIP_PLUGIN_BUILD").is_some() {
        // Built outside the workspace (a packaged crate): nothing to build.
        return;
    }
    for dir in [
        "plugins",
        "examples",
        "tests/guests",
        "tests/hostile",
        "sdk",
        "wit",
        "Cargo.lock",
        // Rebuilt if a file is deleted. The copies below are dated before this
        // run, or cargo would see its own output as a change and rebuild the
        // host on every command.
        "target/plugins",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(dir).display());
    }

    ensure_wasm_target();
    let guests = find_guests(&root);
    let wasm_target = root.join("target/wasm");
    let out_dir = root.join("target/plugins");
    let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cargo
        .current_dir(&root)
        .args([
            "build",
            "--profile",
            "plugin",
            "--target",
            "wasm32-wasip2",
            "--target-dir",
        ])
        .arg(&wasm_target);
    for name in &guests {
        cargo.args(["-p", name]);
    }
    // Flags meant for the host build must not leak into the guest build.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "CARGO_TARGET_DIR",
    ] {
        cargo.env_remove(var);
    }
    let output = cargo.output().expect("run cargo to build the wasm plugins");
    if !output.status.success() {
        panic!(
            "building the wasm plugins failed (is the wasm32-wasip2 target installed? rust-toolchain.toml asks rustup for it):\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    std::fs::create_dir_all(&out_dir).unwrap();
    for name in &guests {
        let file = format!("{}.wasm", name.replace('-', "_"));
        let built = wasm_target.join("wasm32-wasip2/plugin").join(&file);
        let copy = out_dir.join(&file);
        std::fs::copy(&built, &copy).unwrap_or_else(|e| panic!("copy {}: {e}", built.display()));
        backdate(&copy, started);
    }
    backdate(&out_dir, started);
}

/// Date `path` a minute before this run started: cargo reruns a build script
/// when a watched path is newer than its last run.
fn backdate(path: &Path, started: std::time::SystemTime) {
    let before = started - std::time::Duration::from_secs(60);
    let result = std::fs::File::open(path).and_then(|f| f.set_modified(before));
    if let Err(e) = result {
        println!(
            "cargo:warning=cannot set the time of {}: {e}",
            path.display()
        );
    }
}

/// rust-toolchain.toml names the wasm32-wasip2 target, but rustup adds a
/// toolchain file's targets only when it installs the toolchain: on a machine
/// that already has `stable`, the target is missing. Add it (once; rustup
/// does nothing when it is there).
fn ensure_wasm_target() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let sysroot = Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let installed = sysroot.is_some_and(|s| s.join("lib/rustlib/wasm32-wasip2").is_dir());
    if installed {
        return;
    }
    let mut rustup = Command::new("rustup");
    rustup.args(["target", "add", "wasm32-wasip2"]);
    if let Ok(toolchain) = std::env::var("RUSTUP_TOOLCHAIN") {
        rustup.args(["--toolchain", &toolchain]);
    }
    match rustup.output() {
        Ok(out) if out.status.success() => {}
        Ok(out) => println!(
            "cargo:warning=`rustup target add wasm32-wasip2` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(e) => println!("cargo:warning=cannot run rustup to add the wasm32-wasip2 target: {e}"),
    }
}
