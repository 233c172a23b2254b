//! Names every guest crate's component as a constant: `CUSTOM_SCORER` is the
//! path of `target/plugins/custom_scorer.wasm`, which host/build.rs builds. A
//! test that names a guest that does not exist does not compile.

use std::fmt::Write;
use std::path::PathBuf;

include!("guests.rs");

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest.parent().unwrap().parent().unwrap().to_path_buf();
    for dir in GUEST_DIRS {
        println!("cargo:rerun-if-changed={}", root.join(dir).display());
    }
    let plugins = root.join("target/plugins");
    let mut out = String::new();
    let mut all = String::new();
    for name in find_guests(&root) {
        let file = name.replace('-', "_");
        let constant = file.to_uppercase();
        let path = plugins.join(format!("{file}.wasm"));
        let _ = writeln!(
            out,
            "/// The component built from guest crate `{name}`.\npub const {constant}: &str = {:?};",
            path.display().to_string()
        );
        let _ = writeln!(all, "    ({file:?}, {constant}),");
    }
    let _ = writeln!(
        out,
        "/// Every guest component: (file stem, path).\npub const ALL: &[(&str, &str)] = &[\n{all}];"
    );
    let dest = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("artifacts.rs");
    std::fs::write(dest, out).unwrap();
}
