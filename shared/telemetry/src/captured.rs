//! Everything a test's own subscriber logged, to assert on log lines
//! (said once, never a secret) without scraping a process's stderr.

use std::sync::{Arc, Mutex, MutexGuard};

/// A `MakeWriter` keeping every line in memory; clones share the lines.
#[derive(Clone, Default)]
pub struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl CapturedLogs {
    fn bytes(&self) -> MutexGuard<'_, Vec<u8>> {
        // A write only appends: a panic cannot leave it half done.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What was logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes()).into_owned()
    }

    /// How many times `needle` was logged so far.
    pub fn count(&self, needle: &str) -> usize {
        self.text().matches(needle).count()
    }
}

impl std::io::Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.bytes().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for CapturedLogs {
    type Writer = CapturedLogs;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}
