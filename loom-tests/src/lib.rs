//! Empty: the model checks are in `tests/`, one file per protocol, compiled only under `--cfg rtsp_ingest_loom`.
