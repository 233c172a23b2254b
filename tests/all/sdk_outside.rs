//! The SDK as a plugin author meets it: the README's "Writing a plugin" crate,
//! taken from the README's own code blocks (so the tutorial cannot drift from
//! what is tested), written to a folder outside this workspace, built for
//! wasm32-wasip2 and tested natively with a plain `cargo` there, then loaded
//! by the host, which must see a scorer.
//!
//! The only change to the tutorial's files: the git dependency on leadwire-sdk
//! becomes a path dependency on this checkout's sdk/ (the test must not need
//! the network), and an empty `[workspace]` keeps cargo from looking for a
//! workspace above the temporary folder. The workspace's Cargo.lock is copied
//! in so that the crate resolves to the dependency versions this repository is
//! tested with (nothing to download on a machine that has built the workspace),
//! and the build shares a target folder across runs, so a second run compiles
//! only the tutorial crate.

use std::path::{Path, PathBuf};
use std::process::Command;

use leadwire::runtime::{Role, inspect_file};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
const GIT_DEPENDENCY: &str = r#"leadwire-sdk = { git = "https://github.com/leadwire/leadwire" }"#;

fn root() -> PathBuf {
    Path::new(ROOT).canonicalize().unwrap()
}

/// A fenced code block of the README: its info string (`toml`, `rust`, `sh`)
/// and its text.
struct Block {
    info: String,
    text: String,
}

/// The code blocks of the README section titled `title`, up to the next
/// heading of the same or a higher level.
fn section_blocks(readme: &str, title: &str) -> Vec<Block> {
    let heading = format!("## {title}");
    let start = readme
        .lines()
        .position(|l| l.trim_end() == heading)
        .unwrap_or_else(|| panic!("README.md has no `{heading}` section"));
    let mut blocks = Vec::new();
    let mut open: Option<Block> = None;
    for line in readme.lines().skip(start + 1) {
        match &mut open {
            None if line.starts_with("## ") || line.starts_with("# ") => break,
            None => {
                if let Some(info) = line.strip_prefix("```") {
                    open = Some(Block {
                        info: info.trim().to_string(),
                        text: String::new(),
                    });
                }
            }
            Some(block) if line.trim_end() == "```" => {
                blocks.push(std::mem::replace(
                    block,
                    Block {
                        info: String::new(),
                        text: String::new(),
                    },
                ));
                open = None;
            }
            Some(block) => {
                block.text.push_str(line);
                block.text.push('\n');
            }
        }
    }
    assert!(
        open.is_none(),
        "an unclosed code block in the README's `{heading}`"
    );
    blocks
}

/// The one block of `blocks` with this info string whose first line is `first`.
fn block<'a>(blocks: &'a [Block], info: &str, first: &str) -> &'a str {
    let found: Vec<&Block> = blocks
        .iter()
        .filter(|b| b.info == info && b.text.lines().next() == Some(first))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "the README's tutorial must have exactly one ```{info} block starting with `{first}`"
    );
    &found[0].text
}

/// The tutorial crate, as the README gives it.
struct Tutorial {
    cargo_toml: String,
    lib_rs: String,
    build_commands: String,
}

fn tutorial() -> Tutorial {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let blocks = section_blocks(&readme, "Writing a plugin");
    let cargo_toml = block(&blocks, "toml", "# Cargo.toml").to_string();
    let lib_rs = [
        block(&blocks, "rust", "// src/lib.rs"),
        block(&blocks, "rust", "// src/lib.rs, continued"),
    ]
    .join("\n");
    let build_commands = blocks
        .iter()
        .filter(|b| b.info == "sh" && b.text.contains("--target wasm32-wasip2"))
        .map(|b| b.text.clone())
        .next()
        .expect("the README's tutorial has a ```sh block building for wasm32-wasip2");
    Tutorial {
        cargo_toml,
        lib_rs,
        build_commands,
    }
}

/// The README tells users to depend on the workspace's own repository.
#[test]
fn the_tutorial_depends_on_the_sdk_from_the_workspace_repository() {
    let tutorial = tutorial();
    let workspace: toml::Table = std::fs::read_to_string(root().join("Cargo.toml"))
        .unwrap()
        .parse()
        .unwrap();
    let repository = workspace["workspace"]["package"]["repository"]
        .as_str()
        .unwrap();
    assert_eq!(
        GIT_DEPENDENCY,
        format!(r#"leadwire-sdk = {{ git = "{repository}" }}"#),
        "the tutorial's git dependency must name the workspace's repository"
    );
    assert!(
        tutorial.cargo_toml.lines().any(|l| l == GIT_DEPENDENCY),
        "the tutorial's Cargo.toml must have the line `{GIT_DEPENDENCY}`:\n{}",
        tutorial.cargo_toml
    );
    let manifest: toml::Table = tutorial.cargo_toml.parse().unwrap();
    assert_eq!(
        manifest["lib"]["crate-type"].as_array().unwrap(),
        &[toml::Value::from("cdylib")],
        "a component is a cdylib"
    );
    assert!(
        tutorial
            .build_commands
            .contains("rustup target add wasm32-wasip2"),
        "the tutorial must say how to add the wasm32-wasip2 target:\n{}",
        tutorial.build_commands
    );
}

/// A `cargo` for the tutorial crate: its folder, the shared target folder, and
/// none of the variables this test's own cargo set for the host's build.
fn cargo(dir: &Path, target_dir: &Path, args: &[&str]) -> String {
    let mut cargo = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cargo
        .current_dir(dir)
        .args(args)
        .env("CARGO_TARGET_DIR", target_dir);
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_ENCODED_RUSTDOCFLAGS",
        "RUSTDOCFLAGS",
        "CARGO_BUILD_TARGET",
        "CARGO_BUILD_TARGET_DIR",
        "CARGO_MANIFEST_DIR",
        "CARGO_MANIFEST_PATH",
        "CARGO_PRIMARY_PACKAGE",
    ] {
        cargo.env_remove(var);
    }
    let output = cargo.output().expect("run cargo");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "`cargo {}` in the tutorial crate failed:\n{stdout}\n{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[test]
fn the_tutorial_crate_builds_outside_the_workspace_tests_natively_and_loads_as_a_scorer() {
    let root = root();
    let tutorial = tutorial();
    let sdk = root.join("sdk");
    let cargo_toml = tutorial.cargo_toml.replace(
        GIT_DEPENDENCY,
        &format!(
            "leadwire-sdk = {{ path = {:?} }}",
            sdk.display().to_string()
        ),
    );
    assert_ne!(
        cargo_toml, tutorial.cargo_toml,
        "the git dependency was not replaced"
    );
    let cargo_toml =
        format!("{cargo_toml}\n# Not a member of any workspace above this folder.\n[workspace]\n");
    let manifest: toml::Table = cargo_toml.parse().unwrap();
    let name = manifest["package"]["name"].as_str().unwrap().to_string();

    let dir = tempfile::Builder::new()
        .prefix("leadwire-sdk-outside-")
        .tempdir()
        .unwrap();
    let crate_dir = dir.path().canonicalize().unwrap();
    assert!(
        !crate_dir.starts_with(&root),
        "the temporary folder {} is inside the workspace: set TMPDIR elsewhere",
        crate_dir.display()
    );
    std::fs::create_dir(crate_dir.join("src")).unwrap();
    std::fs::write(crate_dir.join("Cargo.toml"), &cargo_toml).unwrap();
    std::fs::write(crate_dir.join("src/lib.rs"), &tutorial.lib_rs).unwrap();
    std::fs::copy(root.join("Cargo.lock"), crate_dir.join("Cargo.lock")).unwrap();

    let target_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("sdk-outside");
    // The README's inspect line names the file under the crate's target/.
    let file = format!("{}.wasm", name.replace('-', "_"));
    let wasm_in_readme = format!("target/wasm32-wasip2/release/{file}");
    assert!(
        tutorial.build_commands.contains(&wasm_in_readme),
        "the tutorial's build commands must name {wasm_in_readme}:\n{}",
        tutorial.build_commands
    );
    let wasm = target_dir.join("wasm32-wasip2/release").join(&file);
    let _ = std::fs::remove_file(&wasm);

    cargo(
        &crate_dir,
        &target_dir,
        &["build", "--release", "--target", "wasm32-wasip2"],
    );
    assert!(wasm.is_file(), "{} was not built", wasm.display());

    let tests = cargo(&crate_dir, &target_dir, &["test", "--release"]);
    assert!(
        tests.contains("test senior_titles_score ... ok"),
        "the tutorial's native test did not run:\n{tests}"
    );

    let runtime = leadwire::Runtime::new().unwrap();
    let info = inspect_file(runtime.engine(), &wasm).unwrap();
    assert_eq!(info.roles, [Role::Scoring]);
    assert_eq!(
        info.capabilities,
        ["config"],
        "the tutorial's scorer calls host::config only, so it imports nothing else"
    );
}
