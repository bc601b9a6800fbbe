//! Random op sequences on a real slab, checked op by op against the
//! single-threaded model in `tests/support/slab_ops.rs` (shared with the
//! `slab_model` proptest).
//!
//! ```text
//! RUSTC_BOOTSTRAP=1 cargo fuzz run slab_ops -- -max_total_time=120
//! ```

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/support/slab_ops.rs"]
mod slab_ops;

fuzz_target!(|scenario: slab_ops::Scenario| {
    slab_ops::run(scenario);
});
