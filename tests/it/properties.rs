//! Invariants that hold for every input, checked with proptest.

use kbguard::analysis::{tokenize, Query, Uniform};
use kbguard::intent::{normalize_flag, normalize_program};
use kbguard::{Tri, Version, VersionRange};
use proptest::prelude::*;

fn version() -> impl Strategy<Value = Version> {
    prop::collection::vec(0u32..20, 1..6).prop_map(Version::from_parts)
}

fn tri() -> impl Strategy<Value = Tri> {
    prop_oneof![Just(Tri::True), Just(Tri::False), Just(Tri::Unknown)]
}

proptest! {
    #[test]
    fn version_order_is_total_and_consistent(a in version(), b in version(), c in version()) {
        // Exactly one of <, ==, > holds, and it agrees with equality.
        let lt = a < b;
        let gt = a > b;
        let eq = a == b;
        prop_assert_eq!(u8::from(lt) + u8::from(gt) + u8::from(eq), 1);
        prop_assert_eq!(a.cmp(&b).reverse(), b.cmp(&a));
        if a <= b && b <= c {
            prop_assert!(a <= c);
        }
    }

    #[test]
    fn trailing_zeros_do_not_matter(parts in prop::collection::vec(0u32..100, 1..5), zeros in 0usize..4) {
        let mut padded = parts.clone();
        padded.extend(std::iter::repeat_n(0, zeros));
        let text: Vec<String> = padded.iter().map(u32::to_string).collect();
        let parsed: Version = text.join(".").parse().unwrap();
        prop_assert_eq!(parsed, Version::from_parts(parts));
    }

    #[test]
    fn version_display_parses_back(v in version()) {
        prop_assert_eq!(v.to_string().parse::<Version>().unwrap(), v);
    }

    #[test]
    fn range_membership_agrees_with_comparisons(lo in version(), hi in version(), v in version()) {
        let range: VersionRange = format!(">={lo}, <{hi}").parse().unwrap();
        prop_assert_eq!(range.contains(&v), lo <= v && v < hi);
        let exact: VersionRange = format!("={v}").parse().unwrap();
        prop_assert!(exact.contains(&v));
        let above: VersionRange = format!(">{v}").parse().unwrap();
        prop_assert!(!above.contains(&v));
    }

    #[test]
    fn a_range_called_unsatisfiable_contains_no_version(
        comparators in prop::collection::vec((0usize..6, version()), 1..4),
        probes in prop::collection::vec(version(), 1..40),
    ) {
        const OPS: [&str; 6] = [">=", ">", "<=", "<", "=", ""];
        let text: Vec<String> = comparators.iter().map(|(op, v)| format!("{}{v}", OPS[*op])).collect();
        let range: VersionRange = text.join(", ").parse().unwrap();
        // Each bound, and each bound's neighbours, are the versions most likely to sit inside.
        let mut candidates = probes;
        for (_, v) in &comparators {
            let mut parts = v.parts().to_vec();
            candidates.push(v.clone());
            parts.push(1);
            candidates.push(Version::from_parts(parts.clone()));
            parts.pop();
            if let Some(last) = parts.last_mut() {
                *last += 1;
            }
            candidates.push(Version::from_parts(parts));
        }
        if let Some(v) = candidates.iter().find(|v| range.contains(v)) {
            prop_assert_eq!(range.unsatisfiable_alternative(), None, "{} contains {}", range.as_str(), v);
        }
    }

    #[test]
    fn flag_and_program_normalisation_is_idempotent(arg in "[-/]{0,2}[A-Za-z][A-Za-z0-9_]{0,8}([:=][a-z.]{0,5})?") {
        if let Some(flag) = normalize_flag(&arg) {
            prop_assert_eq!(normalize_flag(&format!("-{flag}")), Some(flag.clone()));
            prop_assert_eq!(normalize_flag(&format!("/{}", flag.to_uppercase())), Some(flag));
        }
        let program = normalize_program(&arg);
        prop_assert_eq!(normalize_program(&program), program);
    }

    #[test]
    fn three_valued_logic_laws(a in tri(), b in tri(), members in prop::collection::vec(tri(), 0..6)) {
        prop_assert_eq!(Tri::Unknown.not(), Tri::Unknown);
        prop_assert_eq!(a.not().not(), a);
        prop_assert_eq!(a.and(b).not(), a.not().or(b.not()));
        prop_assert_eq!(a.or(b).not(), a.not().and(b.not()));
        // All with a false member is false, even beside unknown ones; Any with a true member is true.
        if members.contains(&Tri::False) {
            prop_assert_eq!(Tri::all(members.clone()), Tri::False);
        }
        if members.contains(&Tri::True) {
            prop_assert_eq!(Tri::any(members.clone()), Tri::True);
        }
        if !members.contains(&Tri::Unknown) {
            let bools: Vec<bool> = members.iter().map(|m| *m == Tri::True).collect();
            prop_assert_eq!(Tri::all(members.clone()), Tri::from(bools.iter().all(|b| *b)));
            prop_assert_eq!(Tri::any(members.clone()), Tri::from(bools.iter().any(|b| *b)));
        }
    }

    #[test]
    fn tokens_are_lowercase_and_point_into_the_text(text in "\\PC{0,200}") {
        for token in tokenize(&text, true) {
            prop_assert!(text.is_char_boundary(token.span.start) && text.is_char_boundary(token.span.end));
            if !token.wildcard {
                prop_assert_eq!(token.text.clone(), text[token.span.clone()].to_lowercase());
            }
        }
        let q = Query::new(&text, &Uniform);
        prop_assert!(q.total >= 0.0 && q.tokens.len() <= kbguard::analysis::MAX_QUERY_TOKENS);
    }
}

mod wrappers {
    use std::path::Path;
    use std::sync::OnceLock;

    use kbguard::cmdline::plan_argv;
    use kbguard::facts::{collect, FactOptions};
    use kbguard::ruleset::CompiledRules;
    use kbguard::{preflight, FactSet, Origin, RuleSet, Verdict};
    use proptest::prelude::*;

    /// The built-in rules and the example cluster node (whose environment is given), loaded once.
    fn setup() -> &'static (CompiledRules, FactSet) {
        static SETUP: OnceLock<(CompiledRules, FactSet)> = OnceLock::new();
        SETUP.get_or_init(|| {
            let set = RuleSet::load(&[Origin::Embedded]);
            let snapshot =
                Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/exchange55-cluster-node.ron");
            let host = collect(
                &set.catalogue,
                &FactOptions {
                    snapshot: Some(snapshot),
                    sets: Vec::new(),
                },
            )
            .unwrap();
            (set.compile(), host)
        })
    }

    /// The verdict and the triggered and undecided rules of a command.
    fn outcome(argv: &[String]) -> (Verdict, Vec<String>) {
        let (set, host) = setup();
        let checked = preflight::check(set, host, plan_argv(argv).unwrap());
        let mut rules: Vec<String> = checked
            .commands
            .iter()
            .flat_map(|c| c.report.findings())
            .map(|e| format!("{}:{:?}", e.rule, e.outcome))
            .collect();
        rules.sort();
        (checked.verdict(false), rules)
    }

    fn command() -> impl Strategy<Value = Vec<String>> {
        let program = prop_oneof![
            Just("isinteg"),
            Just("ISINTEG.EXE"),
            Just("eseutil"),
            Just("edbutil"),
            Just("mtacheck"),
            Just("cluster"),
            Just("C:\\exchsrvr\\bin\\eseutil.exe"),
        ];
        let arg = prop_oneof![
            Just("-patch"),
            Just("-fix"),
            Just("-test"),
            Just("-pri"),
            Just("-pub"),
            Just("/p"),
            Just("/d"),
            Just("/g"),
            Just("/r"),
            Just("/ispriv"),
            Just("/ispub"),
            Just("/tD:\\tmp.edb"),
            Just("C:\\exchsrvr\\mdbdata\\priv.edb"),
            Just("resource"),
            Just("/online"),
        ];
        (program, prop::collection::vec(arg, 0..4))
            .prop_map(|(p, args)| std::iter::once(p).chain(args).map(str::to_string).collect())
    }

    /// Wraps a command in one of the wrappers kbguard sees through, the way a person writes it.
    fn wrap(kind: u8, argv: Vec<String>) -> Vec<String> {
        // `start` and `call` are cmd built-ins: another shell runs them through cmd.
        let builtin = argv.first().is_some_and(|p| p == "start" || p == "call");
        let argv = if builtin && (11..=14).contains(&(kind % 16)) {
            wrap(0, argv)
        } else {
            argv
        };
        // cmd has no way to quote a quote inside quotes: a command holding one (a runas string)
        // is wrapped further only by wrappers that pass words on as words.
        if argv.iter().any(|a| a.contains('"')) && !(5..=10).contains(&(kind % 16)) {
            return wrap(5 + kind % 6, argv);
        }
        let prefix = |words: &[&str]| -> Vec<String> {
            words
                .iter()
                .map(|w| w.to_string())
                .chain(argv.clone())
                .collect()
        };
        // Each shell's own quoting, so that the joined line runs the same words.
        let cmd_line = argv
            .iter()
            .map(|a| {
                if a.is_empty() || a.contains(' ') {
                    format!("\"{a}\"")
                } else {
                    a.chars()
                        .flat_map(|c| {
                            let escape = "&|()<>^".contains(c).then_some('^');
                            escape.into_iter().chain(std::iter::once(c))
                        })
                        .collect()
                }
            })
            .collect::<Vec<String>>()
            .join(" ");
        let plain = |a: &str| {
            !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "\\:._/".contains(c) || c == '-')
                && !a.starts_with('-')
        };
        let ps_quote = |a: &str| format!("'{}'", a.replace('\'', "''"));
        let ps_line = argv
            .iter()
            .enumerate()
            .map(|(i, a)| {
                match (
                    i,
                    plain(a) || (i > 0 && a.starts_with('-') && !a.contains(['\'', ' ', '&'])),
                ) {
                    (_, true) => a.clone(),
                    (0, false) => format!("& {}", ps_quote(a)),
                    (_, false) => ps_quote(a),
                }
            })
            .collect::<Vec<String>>()
            .join(" ");
        let sh_line = argv
            .iter()
            .map(|a| format!("'{}'", a.replace('\'', "'\\''")))
            .collect::<Vec<String>>()
            .join(" ");
        // runas hands its string to the program as Windows splits a command line.
        let win_line = argv
            .iter()
            .map(|a| {
                if a.is_empty() || a.contains(' ') {
                    format!("\"{}\"", a.replace('"', "\\\""))
                } else {
                    a.clone()
                }
            })
            .collect::<Vec<String>>()
            .join(" ");
        match kind % 16 {
            0 => prefix(&["cmd", "/c"]),
            1 => prefix(&["cmd.exe", "/S", "/C"]),
            2 => prefix(&["start", "/wait"]),
            3 => prefix(&["start", "", "/b"]),
            4 => prefix(&["call"]),
            5 => prefix(&["sudo", "-u", "exadmin"]),
            6 => prefix(&["env", "KBGUARD_TEST=1"]),
            7 => prefix(&["nohup"]),
            8 => prefix(&["time", "-p"]),
            9 => prefix(&["nice", "-n", "5"]),
            10 => prefix(&["timeout", "600"]),
            11 => vec!["runas".into(), "/user:EXCH\\admin".into(), win_line],
            12 => vec![
                "powershell".into(),
                "-NoProfile".into(),
                "-Command".into(),
                ps_line,
            ],
            13 => vec!["pwsh".into(), "-c".into(), ps_line],
            14 => vec!["bash".into(), "-c".into(), sh_line],
            _ => vec!["cmd".into(), "/c".into(), cmd_line],
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn wrapping_a_command_never_changes_its_verdict(
            argv in command(),
            kinds in prop::collection::vec(any::<u8>(), 1..4),
        ) {
            let plain = outcome(&argv);
            let mut wrapped = argv.clone();
            for kind in kinds {
                wrapped = wrap(kind, wrapped);
            }
            prop_assert_eq!(outcome(&wrapped), plain, "{:?}", wrapped);
        }
    }
}
