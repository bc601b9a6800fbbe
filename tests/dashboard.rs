//! The dashboard in a real headless Chromium (Debian's `chromium`, driven by
//! playwright-core from tests/browser/): it asks for the token, renders every
//! stream with its picture, a Stop/Start works, a refused stream's error
//! shows, Remove removes. The screenshot it takes is docs/dashboard.png's
//! source (`target/dashboard.png`).

#[path = "support/ingest.rs"]
mod ingest;

use std::path::Path;
use std::process::Command;

use ingest::{Api, Ingest};
use rtsp_ingest::simulate::{PatternOptions, Simulator, SimulatorConfig};
use serde_json::Value;

const TOKEN: &str = "dashboard-admin-7Fq2Lm9Xc4";
const IDS: [&str; 4] = ["gate", "dock", "lobby", "yard"];

/// tests/browser's node_modules, installed from its lock file when missing.
fn browser_dir() -> &'static Path {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser"));
    if !dir.join("node_modules/playwright-core").is_dir() {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
            .current_dir(dir)
            .status()
            .expect("npm (scripts/install-deps.sh installs it)");
        assert!(status.success(), "npm ci in {}", dir.display());
    }
    dir
}

#[test]
fn the_dashboard_shows_every_stream_and_drives_the_api_in_chromium() {
    let browser = browser_dir();
    let simulator = Simulator::start(
        SimulatorConfig::default()
            .addr("127.0.0.1:0".parse().unwrap())
            .cameras(IDS.len())
            .pattern(PatternOptions::default().size(640, 360).fps(15)),
    )
    .unwrap();
    let work = std::env::temp_dir().join(format!("rtsp-ingest-dashboard-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    let tokens = work.join("tokens.toml");
    std::fs::write(&tokens, format!("admin = \"{TOKEN}\"\n")).unwrap();
    let mut config = String::from("[defaults]\ntransport = \"tcp\"\nformat = \"bgr24\"\n");
    for (camera, id) in IDS.iter().enumerate() {
        config.push_str(&format!(
            "\n[[stream]]\nid = \"{id}\"\nurl = \"{}\"\n",
            simulator.url(camera)
        ));
    }
    // One camera that is not there: its card shows the error.
    config.push_str("\n[[stream]]\nid = \"parking\"\nurl = \"rtsp://127.0.0.1:9/live\"\n");
    let config_path = work.join("cams.toml");
    std::fs::write(&config_path, config).unwrap();
    let (_ingest, address) = Ingest::start(&[
        "run",
        "--config",
        config_path.to_str().unwrap(),
        "--http",
        "127.0.0.1:0",
        "--http-token-file",
        tokens.to_str().unwrap(),
    ]);
    let address = address.unwrap();

    let screenshot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard.png");
    let _ = std::fs::remove_file(&screenshot);
    let mut args = vec![
        "dashboard.mjs".to_owned(),
        address.clone(),
        TOKEN.to_owned(),
        screenshot.to_str().unwrap().to_owned(),
    ];
    args.extend(IDS.iter().map(|id| id.to_string()));
    let output = Command::new("node")
        .args(&args)
        .current_dir(browser)
        .output()
        .expect("node");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the browser run failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let seen: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(seen["summary"], "5 streams, 4 streaming", "{seen:#}");
    assert!(
        seen["banner"].as_str().unwrap().contains("field url"),
        "{seen:#}"
    );
    assert_eq!(
        seen["pageErrors"].as_array().map(Vec::len),
        Some(0),
        "{seen:#}"
    );
    let picture = image::open(&screenshot).unwrap();
    assert!(picture.width() >= 1280, "{}", picture.width());

    // What the page did reached the server: the last stream is gone, the
    // refused one never came.
    let mut api = Api::new(address);
    api.token = Some(TOKEN.to_owned());
    let ids: Vec<Value> = api
        .get("/streams")
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].clone())
        .collect();
    assert_eq!(ids, ["dock", "gate", "lobby", "parking"]);
    let _ = std::fs::remove_dir_all(&work);
}
