//! The README stays true: its worked examples are docs/economics.md's, verbatim (the economics
//! unit tests check every figure there), and its quick start names the two scripts.

use std::path::Path;

fn read(name: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(name)).unwrap()
}

#[test]
fn readme_worked_examples_match_docs() {
    let doc = read("docs/economics.md");
    let examples = doc
        .split_once("## Worked examples\n")
        .expect("docs/economics.md has a Worked examples section")
        .1;
    // Up to the next section (the market model follows the examples).
    let examples = examples
        .split_once("\n## ")
        .map_or(examples, |(head, _)| head)
        .trim_matches('\n');
    let readme = read("README.md");
    let inside = readme
        .split_once("<!-- worked-examples:start -->\n")
        .and_then(|(_, rest)| rest.split_once("<!-- worked-examples:end -->"))
        .expect("README has the worked-examples markers")
        .0
        .trim_matches('\n');
    assert_eq!(
        inside, examples,
        "copy docs/economics.md's worked examples into the README"
    );
}

#[test]
fn readme_quick_start_gives_the_two_commands() {
    let readme = read("README.md");
    let quick = readme.split_once("## Quick start").unwrap().1;
    let block = quick.split("```").nth(1).unwrap();
    assert!(block.contains("scripts/demo"));
    assert!(block.contains("scripts/test"));
    assert_eq!(
        read(".ci/run").lines().last().unwrap().trim(),
        "exec scripts/test"
    );
}
