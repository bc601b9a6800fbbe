//! `GET /openapi.json` against the live server: an OpenAPI 3.1 document with
//! every path and method the server answers, every status each one can give,
//! and a status schema with every key a real status has. (schemathesis fuzzes
//! the server with this document: scripts/schemathesis.sh.)

#[path = "support/ingest.rs"]
mod ingest;
#[path = "support/rtsp_fixture.rs"]
mod rtsp_fixture;

use std::time::Duration;

use ingest::{add_body, Api, Ingest};
use rtsp_fixture::{RtspServer, MOUNT_H264};
use serde_json::{json, Value};

/// Every path and method the server serves.
const OPERATIONS: [(&str, &str); 13] = [
    ("/", "get"),
    ("/healthz", "get"),
    ("/metrics", "get"),
    ("/openapi.json", "get"),
    ("/streams", "get"),
    ("/streams", "post"),
    ("/streams/{id}", "get"),
    ("/streams/{id}", "delete"),
    ("/streams/{id}/start", "post"),
    ("/streams/{id}/stop", "post"),
    ("/streams/{id}/restart", "post"),
    ("/streams/{id}/snapshot.jpg", "get"),
    ("/streams/{id}/mjpeg", "get"),
];

/// Follows a `$ref` to its schema in `document`.
fn resolve<'a>(document: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(reference) => {
            let name = reference.trim_start_matches("#/components/schemas/");
            resolve(document, &document["components"]["schemas"][name])
        }
        None => schema,
    }
}

/// Every key of `value` (an object) is a property of `schema`, recursively
/// into objects, arrays and the variants of `oneOf`; `path` names the place.
fn keys_described(document: &Value, schema: &Value, value: &Value, path: &str) {
    let schema = resolve(document, schema);
    if let Some(variants) = schema["oneOf"].as_array() {
        if value.is_null() {
            return;
        }
        let fits = variants.iter().any(|variant| {
            let variant = resolve(document, variant);
            let properties = &variant["properties"];
            value
                .as_object()
                .is_some_and(|object| object.keys().all(|key| properties.get(key).is_some()))
                || variant["type"] == "null"
        });
        assert!(fits, "{path}: no variant of {schema:#} fits {value:#}");
        return;
    }
    match value {
        Value::Object(object) if schema.get("properties").is_some() => {
            for (key, inner) in object {
                let property = &schema["properties"][key];
                assert!(
                    !property.is_null(),
                    "{path}.{key} is not in the schema: {schema:#}"
                );
                keys_described(document, property, inner, &format!("{path}.{key}"));
            }
        }
        Value::Array(items) => {
            for item in items {
                keys_described(document, &schema["items"], item, &format!("{path}[]"));
            }
        }
        _ => {}
    }
}

#[test]
fn openapi_describes_every_path_status_and_field() {
    let server = RtspServer::start_looping();
    let (_ingest, address) = Ingest::start(&["run", "--http", "127.0.0.1:0"]);
    let api = Api::new(address.unwrap());

    let reply = api.get("/openapi.json");
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply.content_type.starts_with("application/json"));
    let document = reply.json();
    assert_eq!(document["openapi"], "3.1.0");
    let paths = document["paths"].as_object().unwrap();
    let mut described: Vec<(String, String)> = paths
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .filter(|key| !matches!(key.as_str(), "parameters" | "summary" | "description"))
                .map(move |method| (path.clone(), method.clone()))
        })
        .collect();
    described.sort();
    let mut expected: Vec<(String, String)> = OPERATIONS
        .iter()
        .map(|(path, method)| (path.to_string(), method.to_string()))
        .collect();
    expected.sort();
    assert_eq!(described, expected);

    // Every operation but the public ones is behind the bearer token, and
    // says 401 (changes 403 too); every error is an ErrorBody.
    assert_eq!(
        document["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert_eq!(document["security"], json!([{"bearer": []}]));
    for (path, method) in OPERATIONS {
        let operation = &document["paths"][path][method];
        let responses = operation["responses"].as_object().unwrap();
        let public = matches!(path, "/" | "/healthz");
        assert_eq!(
            operation["security"] == json!([{}]),
            public,
            "{method} {path}: {operation:#}"
        );
        if !public {
            assert!(responses.contains_key("401"), "{method} {path}");
        }
        if method != "get" {
            assert!(responses.contains_key("403"), "{method} {path}");
        }
        if path.contains("{id}") {
            for status in ["400", "404"] {
                assert!(responses.contains_key(status), "{method} {path}: {status}");
            }
        }
        for (status, response) in responses {
            if status.starts_with('4') || status.starts_with('5') {
                let schema = &response["content"]["application/json"]["schema"];
                assert_eq!(
                    schema["$ref"], "#/components/schemas/ErrorBody",
                    "{method} {path} {status}"
                );
            }
        }
    }
    let add = &document["paths"]["/streams"]["post"]["responses"];
    for status in ["201", "400", "408", "409", "411", "413", "507"] {
        assert!(add.get(status).is_some(), "POST /streams: {status}");
    }

    // The status schema describes every key of a live status, nested too;
    // and the options schema every option the server takes.
    let url = server.url(MOUNT_H264);
    let options = json!({"transport": "tcp", "format": "rgb24"});
    let reply = api.post("/streams", &add_body("cam", &url, options));
    assert_eq!(reply.status, 201, "{}", reply.body);
    let status = api.wait_state("cam", "streaming", Duration::from_secs(20));
    let list_schema = &document["paths"]["/streams"]["get"]["responses"]["200"]["content"]
        ["application/json"]["schema"];
    keys_described(&document, list_schema, &json!([status]), "status");
    let status_schema = resolve(&document, &list_schema["items"]);
    // ... and nothing a status does not have.
    let mut properties: Vec<&String> = status_schema["properties"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    let mut keys: Vec<&String> = status.as_object().unwrap().keys().collect();
    properties.sort();
    keys.sort();
    assert_eq!(properties, keys);
    let stopped = api.post("/streams/cam/stop", "").json();
    keys_described(&document, list_schema, &json!([stopped]), "stopped");
    let options = resolve(
        &document,
        &document["components"]["schemas"]["StreamOptions"],
    );
    for key in [
        "transport",
        "format",
        "resize",
        "skip",
        "password",
        "drop_policy",
    ] {
        assert!(options["properties"].get(key).is_some(), "options.{key}");
    }
    let error = api.get("/streams/nope").json();
    let error_schema = &document["components"]["schemas"]["ErrorBody"];
    keys_described(&document, error_schema, &error, "error");
}
