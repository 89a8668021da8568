//! What the integration tests share: skipping a test whose tool is missing, loudly, and never
//! silently in CI.

/// Set by `.ci/run`: a test that would skip because a tool `scripts/setup` installs is missing
/// fails instead, so a broken set-up cannot pass as a green run. Only the GPU may be missing.
pub const REQUIRE_TOOLS_VAR: &str = "RIGBENCH_REQUIRE_TOOLS";

/// True when missing tools must fail the test rather than skip it.
pub fn tools_required() -> bool {
    std::env::var(REQUIRE_TOOLS_VAR).is_ok_and(|v| !v.is_empty() && v != "0")
}

/// Skips `test` because `why` (a tool is missing): prints the reason, or panics when
/// [`REQUIRE_TOOLS_VAR`] is set. Call it and `return`.
pub fn skip(test: &str, why: &str) {
    if tools_required() {
        panic!("{test}: {why}, and {REQUIRE_TOOLS_VAR} is set (CI): scripts/setup must install it");
    }
    eprintln!("SKIP {test}: {why}");
}

/// Skips a test for a reason that is not a missing tool (a GPU absent, a port taken): never
/// fails, even in CI.
pub fn skip_optional(test: &str, why: &str) {
    eprintln!("SKIP {test}: {why}");
}
