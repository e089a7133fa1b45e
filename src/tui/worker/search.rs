//! The live filter's search index, shared by the worker's threads.

use crate::store::search::{Hits, SearchIndex};
use crate::store::{self, dashboard, Mode};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A search's text, the index it ran on, and its matches.
type LastSearch = (String, Arc<SearchIndex>, Arc<Hits>);

/// The live filter's search index, shared by the worker's threads and
/// rebuilt in the background when the data version moves on.
#[derive(Default)]
pub struct SearchCache {
    /// `--mask-pii`: ids only (see `SearchIndex::build_fields`).
    pub ids_only: AtomicBool,
    index: std::sync::Mutex<Option<Arc<SearchIndex>>>,
    /// Held while building, so two threads never build at once.
    build: std::sync::Mutex<()>,
    rebuilding: AtomicBool,
    /// The last search: its text, the index it ran on, its matches. Held
    /// while searching, so the page and the count of one keystroke share it.
    pub(super) last: std::sync::Mutex<Option<LastSearch>>,
}

impl SearchCache {
    pub(super) fn current(&self) -> Option<Arc<SearchIndex>> {
        self.index.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(super) fn build_with(&self, conn: &crate::store::Conn) -> crate::Result<Arc<SearchIndex>> {
        let _g = self.build.lock().unwrap_or_else(|e| e.into_inner());
        let version = dashboard::data_version(conn)?;
        if let Some(i) = self.current().filter(|i| i.version == version) {
            return Ok(i);
        }
        let idx = Arc::new(SearchIndex::build_fields(
            conn,
            self.ids_only.load(Ordering::Relaxed),
        )?);
        *self.index.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::clone(&idx));
        Ok(idx)
    }

    /// Build (or rebuild) on a thread of its own; the current index, if any,
    /// keeps answering meanwhile.
    pub fn build_in_background(self: &Arc<Self>, path: PathBuf) {
        if self.rebuilding.swap(true, Ordering::SeqCst) {
            return;
        }
        let me = Arc::clone(self);
        let spawned = std::thread::Builder::new()
            .name("crmtop-search".into())
            .spawn(move || {
                let _ = catch_unwind(AssertUnwindSafe(|| {
                    if let Ok(s) = store::open(&path, Mode::ReadOnly) {
                        let _ = me.build_with(&s.conn);
                    }
                }));
                me.rebuilding.store(false, Ordering::SeqCst);
            });
        if spawned.is_err() {
            self.rebuilding.store(false, Ordering::SeqCst);
        }
    }
}
