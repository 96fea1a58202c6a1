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

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod analysis;
pub mod archive;
pub mod article;
pub mod cache;
pub mod child;
pub mod cmdline;
pub mod corpus;
pub mod eval;
pub mod facts;
pub mod intent;
pub mod load;
pub mod lookup;
pub mod model;
pub mod preflight;
pub mod products;
pub mod report;
pub mod ruleset;
pub mod span;
pub mod testing;
pub mod tri;
pub mod validate;
pub mod version;

pub use eval::{evaluate, Evaluation, Outcome};
pub use facts::{collect, Catalogue, FactOptions, FactSet};
pub use intent::Command;
pub use load::{Loaded, Origin};
pub use model::{Rule, Severity};
pub use ruleset::{CheckReport, RuleSet, Verdict};
pub use tri::Tri;
pub use version::{Version, VersionRange};
