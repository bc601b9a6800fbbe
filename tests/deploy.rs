//! deploy/kubernetes/ holds together: the StatefulSet's shard count is its
//! replica count, it runs under the headless Service's name, probes
//! `/healthz` on the API's port, is scraped there, and mounts the camera
//! config the kustomization turns into a ConfigMap; that config is one `run`
//! accepts. (The manifests are read with Debian's python3-yaml.)

use std::path::Path;
use std::process::Command;

use serde_json::Value;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/kubernetes");

/// The YAML file `name` of deploy/kubernetes as JSON.
fn manifest(name: &str) -> Value {
    let path = Path::new(DIR).join(name);
    let output = Command::new("python3")
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
        ])
        .arg(&path)
        .output()
        .expect("python3 with yaml (scripts/install-deps.sh installs python3-yaml)");
    assert!(
        output.status.success(),
        "{}: {}",
        path.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn the_kubernetes_manifests_fit_together() {
    let set = manifest("statefulset.yaml");
    let service = manifest("service.yaml");
    let kustomization = manifest("kustomization.yaml");
    assert_eq!(set["kind"], "StatefulSet");
    assert_eq!(service["kind"], "Service");
    assert_eq!(service["spec"]["clusterIP"], "None", "headless");
    assert_eq!(set["spec"]["serviceName"], service["metadata"]["name"]);
    let labels = &set["spec"]["template"]["metadata"]["labels"];
    for (key, value) in service["spec"]["selector"].as_object().unwrap() {
        assert_eq!(&labels[key], value, "the Service selects the pods");
    }

    let container = &set["spec"]["template"]["spec"]["containers"][0];
    let args: Vec<&str> = container["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|arg| arg.as_str().unwrap())
        .collect();
    assert_eq!(args[0], "run");
    let flag = |name: &str| {
        args.iter()
            .find_map(|arg| arg.strip_prefix(&format!("--{name}=")))
            .unwrap_or_else(|| panic!("--{name} in {args:?}"))
    };
    let replicas = set["spec"]["replicas"].as_u64().unwrap();
    assert_eq!(flag("shard"), format!("auto/{replicas}"));
    let port = flag("http").rsplit_once(':').unwrap().1;
    assert_eq!(container["ports"][0]["containerPort"].to_string(), port);
    assert!(args.iter().any(|arg| arg.starts_with("--http-token-file=")));

    for probe in ["livenessProbe", "readinessProbe"] {
        let get = &container[probe]["httpGet"];
        assert_eq!(get["path"], "/healthz", "{probe}");
        assert_eq!(get["port"], container["ports"][0]["name"], "{probe}");
    }
    let annotations = &set["spec"]["template"]["metadata"]["annotations"];
    assert_eq!(annotations["prometheus.io/scrape"], "true");
    assert_eq!(annotations["prometheus.io/path"], "/metrics");
    assert_eq!(annotations["prometheus.io/port"].as_str(), Some(port));

    // The config file the pods read is the ConfigMap the kustomization makes.
    let config = flag("config");
    let mount = container["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|mount| mount["mountPath"] == config)
        .expect("the config is mounted");
    let volume = set["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|volume| volume["name"] == mount["name"])
        .unwrap();
    let generated = &kustomization["configMapGenerator"][0];
    assert_eq!(volume["configMap"]["name"], generated["name"]);
    let file = mount["subPath"].as_str().unwrap();
    assert_eq!(generated["files"][0], file);
    let resources = kustomization["resources"].as_array().unwrap();
    for name in ["service.yaml", "statefulset.yaml"] {
        assert!(resources.contains(&Value::from(name)), "{name}");
    }
}
