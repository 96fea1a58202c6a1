//! kbguard: a knowledge-base rule engine and preflight checker.
//!
//! Known problems from support articles are written as versioned rules in RON (`rules/`) with
//! article records (`kb/`). Before an operator runs a maintenance command, kbguard checks the
//! command and the host's facts against the rules and reports the workaround when a known
//! problem applies; helpdesk staff look up pasted error strings to find the article.
//!
//! The data flows through one module per stage:
//! [`load`] (files → typed rules with locations) → [`validate`] (lint) → [`facts`] (probes,
//! snapshots, `--set`) → [`eval`] (rules × facts × intent → findings) → [`report`] (human / JSON).
//! [`ruleset`] ties loading and validation together and runs a check; [`testing`] runs rule
//! test cases; [`lookup`] matches error strings. The library never prints or exits.

pub mod advisories;
pub mod analysis;
pub mod archive;
pub mod article;
pub mod cache;
pub mod child;
pub mod clock;
pub mod cmdline;
pub mod collect;
pub mod corpus;
pub mod draft;
pub mod embed;
pub mod eval;
pub mod facts;
pub mod hooks;
pub mod intent;
pub mod load;
pub mod lookup;
pub mod mentions;
pub mod model;
pub mod output;
pub mod pipeline;
pub mod preflight;
pub mod probe;
pub mod products;
pub mod record;
pub mod registry;
pub mod report;
pub mod ruleset;
pub mod schema;
pub mod serve;
pub mod span;
pub mod testing;
pub mod tri;
pub mod validate;
pub mod version;

pub use eval::{evaluate, Evaluation, Outcome};
pub use facts::{collect, FactOptions, FactSet};
pub use intent::Command;
pub use load::{Loaded, Origin};
pub use model::{Rule, Severity};
pub use ruleset::{CheckReport, RuleSet, Verdict};
pub use schema::Catalogue;
pub use tri::Tri;
pub use version::{Version, VersionRange};

#[cfg(test)]
mod layers {
    //! The layer order ARCHITECTURE.md documents, checked against the `crate::` paths each
    //! module's code uses: no module reaches one above it.

    use std::path::Path;

    /// Modules by layer, lowest first. A module may use those in lower layers only.
    const LAYERS: &[&[&str]] = &[
        &[
            "analysis", "article", "child", "clock", "embed", "hooks", "registry", "span", "tri",
            "version",
        ],
        &["model"],
        &["intent", "load", "schema"],
        &["probe"],
        &["cmdline", "facts", "mentions"],
        &["corpus", "eval", "products"],
        &["draft", "validate"],
        &["ruleset"],
        &["archive", "preflight", "testing"],
        &["advisories", "lookup", "record"],
        &["cache", "collect"],
        &["report"],
        &["output", "pipeline"],
        &["serve"],
    ];

    fn layer(module: &str) -> Option<usize> {
        LAYERS.iter().position(|l| l.contains(&module))
    }

    /// The `crate::NAME` modules a file's code (not its comments) names.
    fn uses(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
            let mut rest = line;
            while let Some(at) = rest.find("crate::") {
                rest = &rest[at + 7..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                out.push(name);
            }
        }
        out
    }

    #[test]
    fn no_module_imports_one_above_it() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut checked = 0;
        for entry in walkdir::WalkDir::new(&src)
            .into_iter()
            .filter_map(Result::ok)
        {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            // A module is its file under src/, or the directory it heads (archive/table.rs
            // belongs to archive).
            let rel = path.strip_prefix(&src).unwrap();
            let first = rel
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_string_lossy();
            let module = first.trim_end_matches(".rs").to_string();
            // The crate root, and the binary (main.rs and its cli/ modules) above every layer.
            if matches!(module.as_str(), "lib" | "main" | "cli") {
                continue;
            }
            let own = layer(&module).unwrap_or_else(|| panic!("{module} has no layer in LAYERS"));
            let text = std::fs::read_to_string(path).unwrap();
            // Tests may reach anywhere.
            let code = text.split("#[cfg(test)]").next().unwrap_or("");
            for used in uses(code) {
                if used == module {
                    continue;
                }
                let theirs = layer(&used).unwrap_or_else(|| panic!("{used} has no layer"));
                assert!(
                    theirs < own,
                    "{} uses crate::{used} (layer {theirs}), not below its own layer {own}",
                    rel.display()
                );
            }
            checked += 1;
        }
        assert!(checked > 20, "only {checked} files checked");
    }
}
