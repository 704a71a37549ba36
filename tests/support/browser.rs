//! Headless Chromium over WebDriver, for the tests of pages people use: chromedriver is started
//! on a free port for each browser, and stopped with it.
//!
//! Without chromedriver a test prints one line, `skipped: no chromedriver …`, and passes; with
//! `UMA_REQUIRE_BROWSER` set (as `.ci/run` sets it) a missing browser fails the test instead.

#![allow(dead_code)] // each test file uses a different part

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::wd::Capabilities;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

/// A browser session and the chromedriver behind it.
pub struct Browser {
    pub client: Client,
    driver: Child,
    profile: PathBuf,
}

fn find(candidates: &[&str]) -> Option<PathBuf> {
    candidates.iter().map(PathBuf::from).find(|p| p.exists())
}

impl Browser {
    /// A fresh headless Chromium, or `None` (having said so) where there is none.
    pub async fn start(test: &str) -> Option<Self> {
        // `CHROMEDRIVER` names another one (or, set to a missing path, none at all).
        let driver_path = match std::env::var_os("CHROMEDRIVER") {
            Some(path) => Some(PathBuf::from(path)).filter(|p| p.exists()),
            None => find(&["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]),
        };
        let Some(driver_path) = driver_path else {
            if std::env::var_os("UMA_REQUIRE_BROWSER").is_some() {
                panic!("{test}: chromedriver is required here (UMA_REQUIRE_BROWSER is set)");
            }
            // Once per test binary, written past the test harness's capture so that it shows.
            static SAID: std::sync::Once = std::sync::Once::new();
            SAID.call_once(|| {
                use std::io::Write as _;
                let _ = writeln!(
                    std::io::stderr(),
                    "skipped: no chromedriver, so no real-browser tests (install chromium and chromium-driver)"
                );
            });
            return None;
        };
        // Its own process group, so that the browsers it starts go with it even when a test
        // panics before closing its session.
        let mut driver = Command::new(&driver_path)
            .arg("--port=0")
            .process_group(0)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", driver_path.display()));
        // chromedriver says which port it took; reading that line is the synchronisation.
        let mut lines = BufReader::new(driver.stdout.take().unwrap()).lines();
        let port = loop {
            let line = lines
                .next()
                .expect("chromedriver exited before listening")
                .unwrap();
            if let Some(rest) = line.split("started successfully on port ").nth(1) {
                break rest.trim_end_matches('.').trim().to_owned();
            }
        };
        std::thread::spawn(move || lines.for_each(drop));
        let profile =
            std::env::temp_dir().join(format!("uma-chromium-{}-{}", std::process::id(), port));
        let mut options = json!({
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                format!("--user-data-dir={}", profile.display()),
                "--window-size=1024,768",
            ]
        });
        if let Some(binary) = std::env::var_os("CHROMIUM")
            .map(PathBuf::from)
            .or_else(|| find(&["/usr/bin/chromium", "/usr/bin/chromium-browser"]))
        {
            options["binary"] = json!(binary);
        }
        let mut capabilities = Capabilities::new();
        capabilities.insert("goog:chromeOptions".to_owned(), options);
        let client = ClientBuilder::rustls()
            .expect("a TLS setup for the WebDriver client")
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .unwrap_or_else(|e| panic!("chromedriver refused a session: {e}"));
        Some(Self {
            client,
            driver,
            profile,
        })
    }

    /// Types into the field with this `id`.
    pub async fn fill(&self, id: &str, text: &str) {
        self.client
            .find(Locator::Id(id))
            .await
            .unwrap_or_else(|e| panic!("no #{id}: {e}"))
            .send_keys(text)
            .await
            .unwrap();
    }

    /// Clicks the element matching `css`.
    pub async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"))
            .click()
            .await
            .unwrap();
    }

    /// Waits (up to 20 s) until an element matching `css` is on the page.
    pub async fn wait_for(&self, css: &str) {
        let found = self
            .client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css(css))
            .await;
        if let Err(error) = found {
            let url = self.client.current_url().await.map(|u| u.to_string());
            let source = self.client.source().await.unwrap_or_default();
            panic!("{css} never appeared ({error}); at {url:?}: {source}");
        }
    }

    /// Saves a screenshot as `target/{folder}/{name}.png`.
    pub async fn screenshot(&self, folder: &str, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("target")
            .join(folder);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    /// Ends the session; dropping the browser stops chromedriver and its browsers.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The whole group: chromedriver and every Chromium process it started. (Not through
        // the `kill` command: procps-ng 4.0.2 turns `kill -KILL -PGID` into `kill(-1, …)`,
        // which is every process there is.)
        if let Ok(pid) = i32::try_from(self.driver.id()) {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let _ = self.driver.wait();
    }
}
