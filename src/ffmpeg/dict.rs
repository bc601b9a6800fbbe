//! An owned `AVDictionary` of options: built before a call that consumes
//! options, handed to it, and freed afterwards with whatever the call left in
//! it (the entries FFmpeg did not recognise), so nothing leaks.

use std::ffi::{CStr, CString};
use std::ptr::{self, NonNull};

use ffmpeg_sys_next as ffi;

use super::c_flag;
use super::error::check;
use crate::error::{Error, ErrorKind, Result};

/// Owns an `AVDictionary`; null (`None`) is FFmpeg's empty dictionary.
#[derive(Debug, Default)]
pub(crate) struct Dictionary {
    raw: Option<NonNull<ffi::AVDictionary>>,
}

impl Dictionary {
    /// An empty dictionary (allocates nothing).
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Sets `key` to `value`, replacing an earlier value.
    pub(crate) fn set(&mut self, key: &str, value: &str) -> Result<()> {
        let nul = |what: &str| {
            Error::new(
                ErrorKind::InvalidConfig,
                format!("option {what} contains a NUL byte"),
            )
        };
        let c_key = CString::new(key).map_err(|_| nul("name"))?;
        let c_value = CString::new(value).map_err(|_| nul(key))?;
        let mut raw = self.as_mut_ptr();
        // SAFETY: `raw` is null or a dictionary we own; av_dict_set copies both
        // NUL-terminated strings (flags 0) and may reallocate the dictionary,
        // writing the new pointer back through `&mut raw`.
        let ret = unsafe { ffi::av_dict_set(&mut raw, c_key.as_ptr(), c_value.as_ptr(), 0) };
        self.raw = NonNull::new(raw);
        check(ret, || format!("setting option {key}")).map(drop)
    }

    /// Hands the dictionary to a call that takes `AVDictionary **`: the call may
    /// consume entries or replace the dictionary; what it leaves is owned again.
    pub(crate) fn with_raw<R>(&mut self, f: impl FnOnce(*mut *mut ffi::AVDictionary) -> R) -> R {
        let mut raw = self.as_mut_ptr();
        let result = f(&mut raw);
        self.raw = NonNull::new(raw);
        result
    }

    /// The keys still in the dictionary (after a call: the options it did not use).
    pub(crate) fn keys(&self) -> Vec<String> {
        let mut keys = Vec::new();
        let mut entry: *const ffi::AVDictionaryEntry = ptr::null();
        let empty = c"";
        loop {
            // SAFETY: the dictionary is null or ours; `entry` is null or the
            // previous entry av_dict_get returned from this same dictionary,
            // unchanged since. An empty key with IGNORE_SUFFIX matches every entry.
            entry = unsafe {
                ffi::av_dict_get(
                    self.as_mut_ptr(),
                    empty.as_ptr(),
                    entry,
                    c_flag(ffi::AV_DICT_IGNORE_SUFFIX),
                )
            };
            // SAFETY: a non-null entry points into the dictionary, which lives and
            // is not modified while we read its NUL-terminated key.
            let Some(found) = (unsafe { entry.as_ref() }) else {
                break;
            };
            // SAFETY: entry keys are NUL-terminated strings FFmpeg copied in.
            keys.push(
                unsafe { CStr::from_ptr(found.key) }
                    .to_string_lossy()
                    .into_owned(),
            );
        }
        keys
    }

    fn as_mut_ptr(&self) -> *mut ffi::AVDictionary {
        self.raw.map_or(ptr::null_mut(), NonNull::as_ptr)
    }
}

impl Drop for Dictionary {
    fn drop(&mut self) {
        let mut raw = self.as_mut_ptr();
        // SAFETY: `raw` is null or a dictionary only we own; av_dict_free frees
        // every entry and the dictionary and nulls the pointer.
        unsafe { ffi::av_dict_free(&mut raw) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_replace_and_list() {
        let mut dict = Dictionary::new();
        assert!(dict.keys().is_empty());
        dict.set("rtsp_transport", "udp").unwrap();
        dict.set("timeout", "5000000").unwrap();
        dict.set("rtsp_transport", "tcp").unwrap();
        let mut keys = dict.keys();
        keys.sort();
        assert_eq!(keys, ["rtsp_transport", "timeout"]);
        let err = dict.set("bad\0key", "x").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidConfig);
    }
}
