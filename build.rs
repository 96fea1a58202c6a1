// A build script reports failure by panicking: cargo shows the message and stops the build.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! Embeds the repository's rules/ and kb/ in the binary, so an installed kbguard needs no files.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "ron") {
            out.push(path);
        }
    }
}

fn main() {
    let root =
        PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["rules", "kb"] {
        println!("cargo:rerun-if-changed={dir}");
        collect(&root.join(dir), &mut files);
    }
    files.sort();
    let mut code = String::from("/// The repository's data files, embedded: (name, text).\npub static EMBEDDED_FILES: &[(&str, &str)] = &[\n");
    for path in &files {
        let name = path
            .strip_prefix(&root)
            .expect("collected under the root")
            .to_string_lossy()
            .replace('\\', "/");
        writeln!(
            code,
            "    ({name:?}, include_str!({:?})),",
            path.display().to_string()
        )
        .unwrap();
    }
    code.push_str("];\n");
    // Identifies the embedded set in caches built from it: a different set, a different hash.
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for path in &files {
        std::hash::Hash::hash(&fs::read(path).expect("read embedded file"), &mut hasher);
    }
    writeln!(
        code,
        "/// A hash of the embedded files' contents.\npub const EMBEDDED_HASH: u64 = {};",
        std::hash::Hasher::finish(&hasher)
    )
    .unwrap();
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("embedded.rs");
    fs::write(out, code).expect("write embedded.rs");
}
