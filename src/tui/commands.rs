//! The `:` command line: editing, completion (from the command table in
//! `views::help`) and running a command. Pure, like `update`.

use super::action::{Action, InputKey};
use super::app::{AppState, CommandLine, JobState, Mode, Screen, Severity};
use super::messages::Slot;
use super::update::{current_list, request, reset_list, start_job, update, Effect};
use super::worker::{ExportWhat, JobSpec, Request};
use crate::analytics::churn::{ModelKind, TrainOptions};
use crate::analytics::clv::{ClvOptions, TimeUnit};
use crate::store::list::SortColumn;

pub fn command_input(state: &mut AppState, action: Action, mut line: CommandLine) -> Vec<Effect> {
    if !matches!(action, Action::Input(InputKey::Complete)) {
        line.stem = None;
    }
    let CommandLine {
        mut text,
        mut cursor,
        stem,
    } = line;
    let mut stem = stem;
    match action {
        Action::Input(InputKey::Complete) => {
            let typed = stem.get_or_insert_with(|| text.clone());
            if let Some(t) = super::views::help::complete_command(&text, typed) {
                text = t;
                cursor = text.chars().count();
            }
        }
        // Backspace on an empty line leaves it, as in vi.
        Action::Input(InputKey::Backspace) if text.is_empty() => {
            state.mode = Mode::Normal;
            return vec![];
        }
        Action::Input(InputKey::Cancel) => {
            state.mode = Mode::Normal;
            return vec![];
        }
        Action::Input(InputKey::Submit) => {
            state.mode = Mode::Normal;
            return run_command(state, text.trim());
        }
        Action::Input(key) => {
            super::line::apply(&mut text, &mut cursor, &key);
        }
        _ => {}
    }
    state.mode = Mode::Command(CommandLine { text, cursor, stem });
    vec![]
}

/// `--flag value` pairs of a command line.
fn flags<'a>(words: &[&'a str]) -> Result<Vec<(&'a str, &'a str)>, String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let w = words[i];
        let Some(name) = w.strip_prefix("--") else {
            return Err(format!("unexpected '{w}'"));
        };
        let v = words
            .get(i + 1)
            .ok_or_else(|| format!("--{name} needs a value"))?;
        out.push((name, *v));
        i += 2;
    }
    Ok(out)
}

fn parse<T: std::str::FromStr>(name: &str, v: &str) -> Result<T, String> {
    v.parse::<T>()
        .map_err(|_| format!("--{name}: '{v}' is not a valid value"))
}

/// `:` commands.
pub fn run_command(state: &mut AppState, line: &str) -> Vec<Effect> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let Some((&cmd, rest)) = words.split_first() else {
        return vec![];
    };
    if super::views::help::command(cmd).is_none() {
        let names: Vec<&str> = super::views::help::COMMANDS
            .iter()
            .map(|c| c.names[0])
            .collect();
        state.say(
            Severity::Warning,
            format!(
                "unknown command :{cmd}; commands: {} (:help)",
                names.join(", ")
            ),
        );
        return vec![];
    }
    let result: Result<Vec<Effect>, String> = (|| match cmd {
        "q" | "quit" => Ok(update(state, Action::Quit)),
        "help" | "h" => {
            state.mode = Mode::Help(0);
            Ok(vec![])
        }
        "train" => {
            let (kind, rest) = match rest.first().and_then(|k| ModelKind::parse(k)) {
                Some(k) => (k, &rest[1..]),
                None if rest.first().is_some_and(|w| !w.starts_with("--")) => {
                    return Err(format!(
                        "unknown model '{}': logistic, random_forest or naive_bayes",
                        rest[0]
                    ));
                }
                None => (ModelKind::Logistic, rest),
            };
            let mut o = TrainOptions {
                kind,
                agent: state.agent.clone(),
                ..Default::default()
            };
            for (k, v) in flags(rest)? {
                match k {
                    "as-of" => {
                        o.as_of = Some(
                            crate::timeutil::parse_timestamp(v)
                                .map(crate::timeutil::ts_to_date)
                                .ok_or_else(|| format!("--as-of: '{v}' is not a date"))?,
                        )
                    }
                    "window-days" => o.window_days = parse(k, v)?,
                    "holdout" => o.holdout = parse(k, v)?,
                    "cv" => o.cv = Some(parse(k, v)?),
                    "l2" => o.l2 = parse(k, v)?,
                    "seed" => o.seed = parse(k, v)?,
                    "activate" => o.activate = parse(k, v)?,
                    _ => return Err(format!("--{k} is not an option of :train")),
                }
            }
            Ok(start_job(state, JobSpec::Train(o)))
        }
        "clv" => {
            let mut o = ClvOptions {
                agent: state.agent.clone(),
                ..Default::default()
            };
            for (k, v) in flags(rest)? {
                match k {
                    "horizon-months" => o.horizon_months = parse(k, v)?,
                    "discount" => o.discount = parse(k, v)?,
                    "margin" => o.margin = parse(k, v)?,
                    "penalizer" => o.penalizer = parse(k, v)?,
                    "revenue-attr" => o.revenue_attr = Some(v.to_string()),
                    "time-unit" => {
                        o.time_unit =
                            TimeUnit::parse(v).ok_or("--time-unit: day, week, month or year")?
                    }
                    "model" => {
                        o.model = crate::analytics::clv::family::Model::parse(v)
                            .ok_or("--model: bgnbd, pnbd, mbgnbd, bgbb, sbg or auto")?
                    }
                    "as-of" => {
                        o.as_of = Some(
                            crate::timeutil::parse_timestamp(v)
                                .map(crate::timeutil::ts_to_date)
                                .ok_or_else(|| format!("--as-of: '{v}' is not a date"))?,
                        )
                    }
                    _ => return Err(format!("--{k} is not an option of :clv")),
                }
            }
            Ok(start_job(state, JobSpec::Clv(o)))
        }
        "export" => {
            let (Some(what), Some(path)) = (rest.first(), rest.get(1)) else {
                return Err(
                    "usage: :export customers|orders|feedback|churn|clv PATH [csv|json]".into(),
                );
            };
            let what = match *what {
                "customers" => ExportWhat::Customers,
                "orders" => ExportWhat::Orders,
                "feedback" => ExportWhat::Feedback,
                "churn" => ExportWhat::Churn,
                "clv" => ExportWhat::Clv,
                other => {
                    return Err(format!(
                        "cannot export '{other}': customers, orders, feedback, churn or clv"
                    ))
                }
            };
            let csv = match rest.get(2).copied() {
                None | Some("csv") => true,
                Some("json") => false,
                Some(other) => return Err(format!("format '{other}': csv or json")),
            };
            let spec = JobSpec::Export {
                what,
                path: crate::outfile::expand_home(path),
                csv,
                mask: state.mask_pii,
            };
            // Writing a file does not touch the database: allowed when read-only.
            if state.job.is_some() {
                return Err("a job is running; wait for it".into());
            }
            // An export writes the whole table: say so when the screen
            // shows a filtered list (the count would otherwise surprise).
            let after =
                filtered_view(state).map(|what| format!("all rows: the {what} is not applied"));
            state.job = Some(JobState {
                label: spec.label(),
                progress: None,
                cancelling: false,
                after,
                phase_since: state.now,
            });
            Ok(vec![request(Request::StartJob(spec))])
        }
        "goto" => {
            let Some(id) = rest.first() else {
                return Err("usage: :goto ID (a customer or a feedback item)".into());
            };
            Ok(vec![request(Request::Find { id: id.to_string() })])
        }
        "messages" | "msg" => {
            state.mode = Mode::Messages(0);
            Ok(vec![])
        }
        "status" if state.screen == Screen::Feedback => {
            let words: Vec<String> = rest.iter().map(|w| format!("status={w}")).collect();
            let words: Vec<&str> = words.iter().map(String::as_str).collect();
            let (part, _) = super::queue_filter::parse(&words, &state.queue.channels)?;
            use crate::store::feedback::QueueFilter as F;
            let part = match part {
                F::All => None,
                p => Some(p),
            };
            let filter = state
                .queue
                .filter
                .with(|p| matches!(p, F::Status(_) | F::Escalated), part);
            // As `S` says it (the status line kept the last `S`'s word).
            let shown = filter.status().unwrap_or("open").to_string();
            state.say(Severity::Info, format!("showing {shown} items"));
            Ok(super::queue_filter::set_filter(state, filter))
        }
        "columns" | "cols" => columns(state, rest),
        "matrix" => Ok(vec![request(Request::Matrices)]),
        "cohorts" => Ok(vec![request(Request::Cohorts)]),
        "survival" => Ok(vec![request(Request::Survival {
            by: rest.first().map(|s| s.to_string()),
        })]),
        "holdout" => {
            // `:holdout [DATE] [bgnbd|pnbd|mbgnbd|auto]`, in either order.
            use crate::analytics::clv::holdout::Family;
            let mut from = None;
            let mut family = Some(Family::Bgnbd);
            for w in rest {
                if *w == "auto" {
                    family = None;
                } else if let Some(f) = Family::parse(w) {
                    family = Some(f);
                } else {
                    from = Some(
                        crate::timeutil::parse_timestamp(w)
                            .map(crate::timeutil::ts_to_date)
                            .ok_or_else(|| {
                                format!("holdout: '{w}' is not a date (YYYY-MM-DD) nor a model (bgnbd, pnbd, mbgnbd, auto)")
                            })?,
                    );
                }
            }
            state.say(Severity::Info, "checking CLV on held-out time…");
            Ok(vec![request(Request::Holdout { from, family })])
        }
        "sort" => {
            // The title ("last order", "churn %") or the `:columns` key
            // ("last_order", "churn").
            let want = rest.join(" ");
            // The queue's order is its priority (resolved, closed and any:
            // newest first), read in pages in that order: not a column's.
            if state.screen == Screen::Feedback && state.detail.is_none() {
                return Err(super::queue_filter::QUEUE_ORDER.into());
            }
            let Some((list, slot)) = current_list(state) else {
                return Err("this screen has no sortable list".into());
            };
            match SortColumn::ALL.iter().find(|c| {
                c.title().eq_ignore_ascii_case(&want)
                    || super::views::sort_key(**c).eq_ignore_ascii_case(&want)
                    || super::views::sort_key(**c)
                        .replace('_', " ")
                        .eq_ignore_ascii_case(&want)
            }) {
                Some(c) => {
                    list.query.sort = *c;
                    // In the column's usual direction, as `s` gives it.
                    list.query.descending = c.descending_first();
                    let fx = super::update::resort_list(list, slot);
                    state.say(Severity::Info, format!("sorted by {}", c.title()));
                    Ok(fx)
                }
                None => {
                    // The words it takes (`rfm`, not "segment", names the
                    // RFM segment), with what each sorts by.
                    let names: Vec<String> = SortColumn::ALL
                        .iter()
                        .map(|c| {
                            let key = super::views::sort_key(*c);
                            if key.replace('_', " ").eq_ignore_ascii_case(c.title()) {
                                key.to_string()
                            } else {
                                format!("{key} ({})", c.title())
                            }
                        })
                        .collect();
                    Err(format!("sort by one of: {}", names.join(", ")))
                }
            }
        }
        "filter" if state.screen == Screen::Feedback && state.detail.is_none() => {
            let (filter, text) = super::queue_filter::parse(rest, &state.queue.channels)?;
            state.queue.search = text.clone();
            let filter = if state.mask_pii && !text.is_empty() {
                use crate::store::feedback::QueueFilter as F;
                filter.with(|p| matches!(p, F::Text(_)), Some(F::TextNoNames(text)))
            } else {
                filter
            };
            Ok(super::queue_filter::set_filter(state, filter))
        }
        "cluster" => {
            // `:cluster N` on every customer screen; `:cluster` or `off` clears.
            if rest.len() > 1 {
                return Err(format!(
                    ":cluster takes one cluster number, not {} words (`:cluster` clears)",
                    rest.len()
                ));
            }
            let k = match rest.first().copied() {
                None | Some("off") | Some("all") => None,
                Some(w) => Some(w.parse::<u32>().ok().filter(|k| *k >= 1).ok_or_else(|| {
                    format!(
                        "'{}' is not a cluster number (see `crmtop clusters`)",
                        crate::term::safe(w)
                    )
                })?),
            };
            let mut fx = Vec::new();
            for slot in [Slot::Customers, Slot::Churn, Slot::Clv] {
                let list = super::update::list_mut(state, slot);
                if list.query.cluster != k {
                    list.query.cluster = k;
                    fx.extend(reset_list(list, slot));
                }
            }
            state.say(
                Severity::Info,
                match k {
                    Some(k) => format!("customer screens show cluster {k} only (:cluster clears; `crmtop clusters` profiles them)"),
                    None => "customer screens show every cluster".into(),
                },
            );
            Ok(fx)
        }
        "filter" => {
            let Some((list, slot)) = current_list(state) else {
                return Err("this screen has no filter".into());
            };
            let text = rest.join(" ");
            list.query.filter = if text.is_empty() { None } else { Some(text) };
            Ok(reset_list(list, slot))
        }
        other => Err(format!("unknown command :{other} (try :help)")),
    })();
    match result {
        Ok(fx) => fx,
        Err(e) => {
            state.say(Severity::Warning, e);
            vec![]
        }
    }
}

/// `:columns`: list the table's columns, or choose them (`NAME...`), add or
/// remove some (`+NAME`, `-NAME`), or go back to the defaults (`reset`).
fn columns(state: &mut AppState, rest: &[&str]) -> Result<Vec<Effect>, String> {
    use super::views::table;
    let Some((key, defs)) = super::views::columns_of(state.screen).filter(|_| {
        state.detail.is_none()
            && !(state.screen == Screen::Feedback && state.queue.opened.is_some())
    }) else {
        return Err("this screen has no table (customers, churn, CLV and the queue do)".into());
    };
    let chosen = state.config.columns.get(key).cloned();
    let shown: Vec<&str> = table::ordered(defs, chosen.as_deref())
        .into_iter()
        .map(|i| defs[i].key)
        .collect();
    if rest.is_empty() {
        let others: Vec<&str> = defs
            .iter()
            .map(|d| d.key)
            .filter(|k| !shown.contains(k))
            .collect();
        state.say(
            Severity::Info,
            format!(
                "{key} columns: {} · also: {} · :columns NAME... | +NAME | -NAME | reset",
                shown.join(" "),
                if others.is_empty() {
                    "-".to_string()
                } else {
                    others.join(" ")
                }
            ),
        );
        return Ok(vec![]);
    }
    let known = |n: &str| -> Result<String, String> {
        defs.iter()
            .find(|d| d.key.eq_ignore_ascii_case(n))
            .map(|d| d.key.to_string())
            .ok_or_else(|| format!("no column '{n}' on {key}; columns: {}", table::keys(defs)))
    };
    let new: Option<Vec<String>> = if rest == ["reset"] {
        None
    } else if rest.iter().all(|w| w.starts_with(['+', '-'])) {
        let mut cols: Vec<String> = shown
            .iter()
            .filter(|k| !defs.iter().any(|d| d.pinned && d.key == **k))
            .map(|k| k.to_string())
            .collect();
        for w in rest {
            let name = known(&w[1..])?;
            cols.retain(|c| *c != name);
            if w.starts_with('+') {
                cols.push(name);
            }
        }
        Some(cols)
    } else {
        Some(rest.iter().map(|w| known(w)).collect::<Result<_, _>>()?)
    };
    match &new {
        Some(cols) => {
            state.config.columns.insert(key.to_string(), cols.clone());
        }
        None => {
            state.config.columns.remove(key);
        }
    }
    match state.screen {
        Screen::Feedback => state.queue.hscroll = 0,
        _ => {
            if let Some((list, _)) = current_list(state) {
                list.hscroll = 0;
            }
        }
    }
    Ok(vec![request(Request::SaveColumns {
        config: state.config_path.clone(),
        screen: key.to_string(),
        columns: new,
    })])
}

/// What narrows the list on screen (a filter, a cluster, a band or a
/// segment), if anything.
fn filtered_view(state: &AppState) -> Option<&'static str> {
    let q = match state.screen {
        crate::tui::app::Screen::Customers => &state.customers.query,
        crate::tui::app::Screen::Churn => &state.churn.query,
        crate::tui::app::Screen::Clv => &state.clv.query,
        crate::tui::app::Screen::Feedback => {
            return (state.queue.filter != crate::store::feedback::QueueFilter::All)
                .then_some("queue filter");
        }
        _ => return None,
    };
    if q.filter.as_deref().is_some_and(|t| !t.is_empty()) {
        Some("filter")
    } else if q.cluster.is_some() {
        Some("cluster")
    } else if q.churn_band.is_some() {
        Some("risk band")
    } else if q.rfm_segment.is_some() {
        Some("segment")
    } else {
        None
    }
}
