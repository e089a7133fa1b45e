//! `CRMTOP_TRACE`: each request's time, for finding what makes a screen slow.

use super::Request;
use crate::store::list;

/// With `CRMTOP_TRACE=FILE`, each request's time is appended to FILE (for
/// finding what makes a screen slow). Requests are described without any
/// text a user typed (a filter can be a customer's name): only its length.
pub(super) struct Trace {
    start: std::time::Instant,
    what: Option<String>,
}

fn trace_label(req: &Request) -> String {
    match req {
        Request::Page {
            slot,
            gen,
            kind,
            query,
        } => format!(
            "Page {slot:?} gen={gen} {kind:?} sort={:?}{} filter={} band={:?} segment={} seek={}",
            query.sort,
            if query.descending { " desc" } else { "" },
            query.filter.as_ref().map_or(0, |f| f.chars().count()),
            query.churn_band,
            query.rfm_segment.is_some(),
            match query.seek {
                list::Seek::First => "first",
                list::Seek::Last => "last",
                list::Seek::After(_) => "after",
                list::Seek::Before(_) => "before",
                list::Seek::From(_) => "from",
            }
        ),
        Request::Count { slot, gen, query } => format!(
            "Count {slot:?} gen={gen} filter={} band={:?}",
            query.filter.as_ref().map_or(0, |f| f.chars().count()),
            query.churn_band
        ),
        Request::Queue { filter, offset, .. } => {
            format!("Queue {} offset={offset}", filter.label().len())
        }
        Request::Find { .. } => "Find".into(),
        Request::QueueAct { targets, act, .. } => {
            format!("QueueAct {} x{}", act.name(), targets.len())
        }
        other => describe(other).to_string(),
    }
}

/// Append a line to the trace file, if tracing. The file is created once
/// per process through `crate::outfile` (private, never the database, not
/// through a symlink; an old trace is replaced) and kept open.
pub fn trace(line: impl FnOnce() -> String) {
    use std::io::Write as _;
    use std::sync::{Mutex, OnceLock};
    static FILE: OnceLock<Option<Mutex<std::fs::File>>> = OnceLock::new();
    let Some(path) = std::env::var_os("CRMTOP_TRACE") else {
        return;
    };
    let file = FILE.get_or_init(|| {
        let path = std::path::PathBuf::from(path);
        let protected = crate::outfile::database_files(&crate::store::default_db_path());
        let f = crate::outfile::OutFile::create(&path, &protected).ok()?;
        f.commit().ok()?;
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .append(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
            .ok()
            .map(Mutex::new)
    });
    if let Some(Ok(mut f)) = file.as_ref().map(|m| m.lock()) {
        let _ = writeln!(
            f,
            "{:?} {}",
            std::thread::current().name().unwrap_or("?"),
            line()
        );
    }
}

impl Trace {
    pub(super) fn new(req: &Request) -> Trace {
        let what = std::env::var_os("CRMTOP_TRACE").map(|_| trace_label(req));
        Trace {
            start: std::time::Instant::now(),
            what,
        }
    }
}

impl Drop for Trace {
    fn drop(&mut self) {
        if let Some(what) = &self.what {
            let ms = self.start.elapsed().as_secs_f64() * 1e3;
            trace(|| format!("{ms:>9.2} ms  {what}"));
        }
    }
}

pub(super) fn describe(req: &Request) -> &'static str {
    match req {
        Request::Probe => "checking the database",
        Request::Page { .. } => "loading rows",
        Request::Count { .. } => "counting rows",
        Request::Dashboard { .. } => "loading the dashboard",
        Request::Detail { .. } => "loading the customer",
        Request::Advice { .. } => "advising on the customer",
        Request::Find { .. } => "finding the customer or item",
        Request::Queue { .. } => "loading the queue",
        Request::Models { .. } => "loading the models",
        Request::QueueItem { .. } => "loading the item",
        Request::QueueAct { .. } => "changing the items",
        Request::QueueNext { .. } => "taking the next item",
        Request::QueueUndo { .. } => "undoing your last change",
        Request::Agents => "listing agents",
        Request::SaveColumns { .. } => "saving the columns",
        Request::Holdout { .. } => "checking CLV on held-out time",
        Request::Matrices => "loading the CLV matrices",
        Request::Survival { .. } => "computing retention curves",
        Request::Cohorts => "computing cohort retention",
        Request::StartJob(_) => "starting the job",
        Request::Campaigns { .. } => "loading the campaigns",
        Request::CampaignWork { .. } => "loading the campaign",
        Request::CampaignReport { .. } => "measuring the campaign",
        Request::CampaignNext { .. } => "taking the next customer",
        Request::CampaignOutcome { .. } => "recording the outcome",
        Request::CampaignRelease { .. } => "giving the customer back",
        Request::CampaignClose { .. } => "closing the campaign",
        Request::CancelJob => "cancelling the job",
        Request::Panic => "a test panic",
        Request::Shutdown => "stopping",
    }
}
