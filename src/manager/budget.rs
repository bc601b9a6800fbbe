//! The global memory budget over every stream's slab: reservations by stream
//! id, checked when a stream is added and again when its slab is sized.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::error::{Error, ErrorKind, Result};

/// Pixel memory reserved per stream, against an optional limit.
#[derive(Debug)]
pub(crate) struct Budget {
    limit: Option<usize>,
    reserved: Mutex<HashMap<String, usize>>,
}

impl Budget {
    pub(crate) fn new(limit: Option<usize>) -> Self {
        Self {
            limit,
            reserved: Mutex::new(HashMap::new()),
        }
    }

    /// Sets `id`'s reservation to `bytes`, or refuses if the total would pass
    /// the limit (the previous reservation then stands).
    pub(crate) fn reserve(&self, id: &str, bytes: usize) -> Result<()> {
        let mut reserved = self
            .reserved
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let others: usize = reserved
            .iter()
            .filter(|(other, _)| other.as_str() != id)
            .map(|(_, bytes)| bytes)
            .sum();
        if let Some(limit) = self.limit {
            if others + bytes > limit {
                return Err(Error::new(
                    ErrorKind::OverBudget,
                    format!(
                        "stream `{id}` needs {:.1} MiB of frame slots; {:.1} of the {:.1} MiB budget is left",
                        mib(bytes),
                        mib(limit.saturating_sub(others)),
                        mib(limit)
                    ),
                ));
            }
        }
        reserved.insert(id.to_owned(), bytes);
        Ok(())
    }

    pub(crate) fn release(&self, id: &str) {
        self.reserved
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .remove(id);
    }

    /// Bytes reserved by every stream together.
    pub(crate) fn total(&self) -> usize {
        self.reserved
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .values()
            .sum()
    }

    pub(crate) fn limit(&self) -> Option<usize> {
        self.limit
    }
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_add_up_to_the_limit_and_no_further() {
        let budget = Budget::new(Some(100));
        budget.reserve("a", 60).unwrap();
        let err = budget.reserve("b", 50).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::OverBudget);
        assert!(err.to_string().contains("`b`"), "{err}");
        budget.reserve("b", 40).unwrap();
        budget.reserve("a", 50).unwrap();
        assert!(budget.reserve("a", 70).is_err(), "a resize is checked too");
        assert_eq!(budget.total(), 90);
        budget.release("a");
        assert_eq!(budget.total(), 40);
        Budget::new(None).reserve("x", usize::MAX).unwrap();
    }
}
