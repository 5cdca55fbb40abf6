//! The check list, as Gherkin compiled into the binary
//! (`features/conform/`), or a brand's own feature files (`--features
//! DIR`) run with the same step vocabulary.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use cucumber::feature::Ext as _;
use cucumber::gherkin::{self, GherkinEnv};
use cucumber::parser;
use futures::stream;

/// The built-in checks: file name and text.
pub const BUILT_IN: &[(&str, &str)] = &[
    (
        "discovery.feature",
        include_str!("../../features/conform/discovery.feature"),
    ),
    (
        "consumer_authentication.feature",
        include_str!("../../features/conform/consumer_authentication.feature"),
    ),
    (
        "authorization_server.feature",
        include_str!("../../features/conform/authorization_server.feature"),
    ),
    (
        "userinfo.feature",
        include_str!("../../features/conform/userinfo.feature"),
    ),
    (
        "client_credentials.feature",
        include_str!("../../features/conform/client_credentials.feature"),
    ),
    (
        "pre_authentication.feature",
        include_str!("../../features/conform/pre_authentication.feature"),
    ),
    (
        "revocation_introspection.feature",
        include_str!("../../features/conform/revocation_introspection.feature"),
    ),
];

/// Where the features come from.
#[derive(Clone, Debug)]
pub enum Source {
    BuiltIn,
    /// Every `*.feature` file in this directory (not below it), by name.
    Dir(PathBuf),
}

/// A cucumber parser over [`Source`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Features;

fn parsed(path: &Path, text: &str) -> parser::Result<gherkin::Feature> {
    let mut feature = gherkin::Feature::parse(text, GherkinEnv::default()).map_err(|source| {
        parser::Error::Parsing(Arc::new(gherkin::ParseFileError::Parsing {
            path: path.to_path_buf(),
            error: None,
            source,
        }))
    })?;
    feature.path = Some(path.to_path_buf());
    feature
        .expand_examples()
        .map_err(|e| parser::Error::ExampleExpansion(Arc::new(e)))
}

/// The features of `source`, parsed (a file that cannot be read or parsed
/// is an error of its own).
pub fn load(source: &Source) -> Vec<parser::Result<gherkin::Feature>> {
    match source {
        Source::BuiltIn => BUILT_IN
            .iter()
            .map(|(name, text)| parsed(&Path::new("conform").join(name), text))
            .collect(),
        Source::Dir(dir) => {
            let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
                Ok(entries) => entries
                    .filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|e| e == "feature"))
                    .collect(),
                Err(source) => {
                    return vec![Err(parser::Error::Parsing(Arc::new(
                        gherkin::ParseFileError::Reading {
                            path: dir.clone(),
                            source,
                        },
                    )))];
                }
            };
            files.sort();
            files
                .into_iter()
                .map(|path| match std::fs::read_to_string(&path) {
                    Ok(text) => parsed(&path, &text),
                    Err(source) => Err(parser::Error::Parsing(Arc::new(
                        gherkin::ParseFileError::Reading { path, source },
                    ))),
                })
                .collect()
        }
    }
}

impl cucumber::Parser<Source> for Features {
    type Cli = cucumber::cli::Empty;
    type Output = stream::Iter<std::vec::IntoIter<parser::Result<gherkin::Feature>>>;

    fn parse(self, input: Source, _: Self::Cli) -> Self::Output {
        stream::iter(load(&input))
    }
}

/// What a scenario's description says: the rule it rests on and how to fix
/// a failure (`Rests on: ...`, `Fix: ...` lines).
pub fn rule_and_fix(scenario: &gherkin::Scenario) -> (String, String) {
    let mut rule = String::new();
    let mut fix = String::new();
    for line in scenario.description.as_deref().unwrap_or_default().lines() {
        let line = line.trim();
        if let Some(r) = line.strip_prefix("Rests on:") {
            rule = r.trim().to_string();
        } else if let Some(f) = line.strip_prefix("Fix:") {
            fix = f.trim().to_string();
        }
    }
    (rule, fix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_checks_parse_and_each_names_its_rule_and_fix() {
        for feature in load(&Source::BuiltIn) {
            let feature = feature.unwrap();
            for scenario in &feature.scenarios {
                let (rule, fix) = rule_and_fix(scenario);
                assert!(!rule.is_empty(), "{}: no Rests on", scenario.name);
                assert!(!fix.is_empty(), "{}: no Fix", scenario.name);
            }
        }
    }

    /// Every step of the built-in checks is in the vocabulary, once.
    #[test]
    fn every_built_in_step_has_exactly_one_definition() {
        let patterns: Vec<regex::Regex> = super::super::steps::VOCABULARY
            .iter()
            .map(|s| super::super::steps::regex(s.pattern).unwrap())
            .collect();
        for feature in load(&Source::BuiltIn) {
            let feature = feature.unwrap();
            let steps = feature
                .background
                .iter()
                .flat_map(|b| b.steps.iter())
                .chain(feature.scenarios.iter().flat_map(|s| s.steps.iter()));
            for step in steps {
                let n = patterns
                    .iter()
                    .filter(|re| re.is_match(&step.value))
                    .count();
                assert_eq!(n, 1, "{:?} matches {n} step definitions", step.value);
            }
        }
    }
}
