//! Invariants that hold for every input, checked with proptest.

use kbguard::intent::{normalize_flag, normalize_program};
use kbguard::lookup::{tokenize, Query, Uniform};
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
        prop_assert!(q.total >= 0.0 && q.tokens.len() <= kbguard::lookup::MAX_QUERY_TOKENS);
    }
}
