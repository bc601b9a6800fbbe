//! A fleet on one machine: `run --shard I/N` processes sharing one config of
//! 12 simulated cameras ingest each camera exactly once, `--shard auto/N`
//! takes I from the host name, and going from 3 shards to 2 moves only the
//! cameras of the shard that left.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};

use rtsp_ingest::simulate::{PatternOptions, Simulator, SimulatorConfig};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_rtsp-ingest");
const CAMERAS: usize = 12;

/// Runs every shard of `count` for a few seconds at once; camera id → the
/// shard that ingested it (each must have published frames).
fn run_fleet(config: &str, count: u32) -> BTreeMap<String, Vec<u32>> {
    let shards: Vec<_> = (0..count)
        .map(|index| {
            let mut command = Command::new(BIN);
            command.args(["run", "--config", config, "--duration", "4", "--json"]);
            if index == 1 {
                // As in a StatefulSet: pod `rtsp-ingest-1` is shard 1.
                command
                    .args(["--shard", &format!("auto/{count}")])
                    .env("HOSTNAME", "rtsp-ingest-1");
            } else {
                command.args(["--shard", &format!("{index}/{count}")]);
            }
            let child = command
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            (index, child)
        })
        .collect();
    let mut owners: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for (index, child) in shards {
        let output = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "shard {index}: {stderr}");
        assert!(
            stderr.contains(&format!("shard {index}/{count}: ")),
            "{stderr}"
        );
        let summary = stdout
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .find(|line| line["type"] == "summary")
            .unwrap_or_else(|| panic!("shard {index}: no summary in {stdout}"));
        for stream in summary["streams"].as_array().unwrap() {
            assert!(
                stream["published"].as_u64().unwrap() > 0,
                "shard {index}: {stream:#}"
            );
            let id = stream["id"].as_str().unwrap().to_owned();
            owners.entry(id).or_default().push(index);
        }
    }
    owners
}

#[test]
fn a_fleet_covers_every_camera_once_and_a_lost_shard_moves_only_its_own() {
    let pattern = PatternOptions::default().size(160, 120).fps(10);
    let simulator = Simulator::start(
        SimulatorConfig::default()
            .addr("127.0.0.1:0".parse().unwrap())
            .cameras(CAMERAS)
            .pattern(pattern),
    )
    .unwrap();
    let mut config = String::from("[defaults]\ntransport = \"tcp\"\nformat = \"gray8\"\n");
    for camera in 0..CAMERAS {
        config.push_str(&format!(
            "\n[[stream]]\nid = \"cam{camera}\"\nurl = \"{}\"\n",
            simulator.url(camera)
        ));
    }
    let path = std::env::temp_dir().join(format!("rtsp-ingest-fleet-{}.toml", std::process::id()));
    std::fs::write(&path, config).unwrap();
    let path_text = path.to_str().unwrap().to_owned();

    let three = run_fleet(&path_text, 3);
    assert_eq!(three.len(), CAMERAS, "{three:?}");
    for (id, shards) in &three {
        assert_eq!(shards.len(), 1, "{id} ingested by {shards:?}");
    }
    let used: std::collections::BTreeSet<u32> = three.values().map(|s| s[0]).collect();
    assert_eq!(used.len(), 3, "every shard has cameras: {three:?}");

    let two = run_fleet(&path_text, 2);
    let _ = std::fs::remove_file(&path);
    assert_eq!(two.len(), CAMERAS, "{two:?}");
    let mut moved = Vec::new();
    for (id, shards) in &two {
        assert_eq!(shards.len(), 1, "{id} ingested by {shards:?}");
        let before = three[id][0];
        if shards[0] != before {
            moved.push((id.clone(), before));
        }
    }
    // Exactly the cameras of shard 2 (the one that left) moved.
    let left: Vec<&String> = three
        .iter()
        .filter(|(_, s)| s[0] == 2)
        .map(|(id, _)| id)
        .collect();
    let moved_ids: Vec<&String> = moved.iter().map(|(id, _)| id).collect();
    assert_eq!(moved_ids, left, "moved: {moved:?}");
}
