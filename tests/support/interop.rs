//! The interpreters and packages the interoperability tests run clients nobody here wrote with.

use std::process::Command;

/// A Python that can `import` every module of `imports` (comma-separated): `UMA_PYTHON`
/// (`.ci/run` makes a venv and sets it), else `python3`. Without one: `None`, having printed
/// `skipped: …` past the test harness's capture (so that it shows, and `.ci/run` sees it), or
/// a panic when `UMA_REQUIRE_INTEROP` is set, as `.ci/run` sets it.
pub fn python_with(imports: &str, install: &str) -> Option<String> {
    let candidate = std::env::var("UMA_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let usable = Command::new(&candidate)
        .args(["-c", &format!("import {imports}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if usable {
        return Some(candidate);
    }
    if std::env::var_os("UMA_REQUIRE_INTEROP").is_some() {
        panic!("{candidate} cannot import {imports}, and UMA_REQUIRE_INTEROP is set");
    }
    use std::io::Write as _;
    let _ = writeln!(
        std::io::stderr(),
        "skipped: no Python with {imports} ({install}, or set UMA_PYTHON)"
    );
    None
}

/// Runs `python script args…` (off the async runtime: the script calls back into the servers of
/// the test) and fails the test unless it exits cleanly having printed `done`.
pub async fn run_python(python: String, script: &'static str, args: Vec<String>, done: &str) {
    let output = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(script)
            .args(args)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains(done),
        "{script} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
