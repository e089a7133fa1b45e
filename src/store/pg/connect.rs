//! Connecting to a PostgreSQL server: what `--db` names (a URL, shown
//! without its password), the connection settings crmtop adds to it, and
//! opening, checking and reopening a connection.

use super::{latest_version, Pg};
use crate::error::{Error, Result};
use postgres::NoTls;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;

/// A URL as it may be shown: any password in it left out.
pub fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    match rest.split_once('@') {
        Some((who, host)) if who.contains(':') => {
            let user = who.split(':').next().unwrap_or("");
            format!("{scheme}://{user}@{host}")
        }
        _ => url.to_string(),
    }
}

/// Whether `--db` names a PostgreSQL server rather than a file.
pub fn is_url(db: &str) -> bool {
    db.starts_with("postgres://") || db.starts_with("postgresql://")
}

/// Where a configuration points, without its password.
pub(super) fn shown(config: &postgres::Config) -> String {
    use postgres::config::Host;
    let host = config
        .get_hosts()
        .first()
        .map(|h| match h {
            Host::Tcp(s) => s.clone(),
            Host::Unix(p) => p.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".into());
    // The driver logs in as the OS user when the URL names none.
    let user = config
        .get_user()
        .map(str::to_string)
        .or_else(|| std::env::var("USER").ok().filter(|u| !u.is_empty()))
        .or_else(|| std::env::var("LOGNAME").ok().filter(|u| !u.is_empty()));
    let db = config
        .get_dbname()
        .map(str::to_string)
        .or_else(|| user.clone())
        .unwrap_or_default();
    match user {
        Some(u) => format!("{u}@{host}/{db}"),
        None => format!("{host}/{db}"),
    }
}

impl Pg {
    /// Connect to `url`; a writable connection brings the schema up to
    /// date, a read-only one refuses an old or new schema and runs every
    /// transaction read-only on the server.
    pub fn connect(url: &str, read_only: bool) -> Result<Pg> {
        let pg = Self::connect_as_is(url, read_only)?;
        if read_only {
            let v = pg.version()?;
            pg.check_not_newer(v)?;
            if v == 0 {
                return Err(Error::Schema(format!(
                    "{}: holds no crmtop data yet; copy a crmtop file into it (`crmtop migrate --from FILE --to URL`) or import CSV files (`crmtop --db URL import KIND FILE`)",
                    pg.shown
                )));
            }
            if v < latest_version() {
                return Err(Error::Schema(format!(
                    "{}: schema version {v} needs upgrading to {}; run any writing command once without --read-only",
                    pg.shown,
                    latest_version()
                )));
            }
        } else {
            pg.migrate()?;
        }
        Ok(pg)
    }

    /// A second, read-only connection to the same database (for a read
    /// that runs beside this connection's, outside any transaction).
    pub(crate) fn sibling(&self) -> Result<Pg> {
        Self::open(self.stream_config.clone(), true)
    }

    /// Whether a transaction is open on this connection.
    pub(crate) fn in_transaction(&self) -> bool {
        self.in_tx.get()
    }

    /// Connect to `url` without looking at the schema (`doctor` reports an
    /// old or newer one instead of changing or refusing it); read-only on
    /// the server when asked.
    pub fn connect_as_is(url: &str, read_only: bool) -> Result<Pg> {
        Self::open(config_of(url)?, read_only)
    }
}

/// The connection settings `url` names, with crmtop's defaults (as
/// libpq's: the host from $PGHOST or the local socket; a connect timeout;
/// plans made for each statement's parameters).
pub(super) fn config_of(url: &str) -> Result<tokio_postgres::Config> {
    let mut config: tokio_postgres::Config = url.parse().map_err(|e| {
            Error::bad(format!(
                "--db: not a PostgreSQL URL ({e}); write postgres://USER@HOST/DBNAME, or postgres://USER@%2Frun%2Fpostgresql/DBNAME for a local socket"
            ))
        })?;
    if config.get_hosts().is_empty() {
        // As libpq: $PGHOST, else the local socket directory of
        // Debian's server, else localhost.
        match std::env::var("PGHOST").ok().filter(|h| !h.is_empty()) {
            Some(h) if h.starts_with('/') => {
                config.host_path(h);
            }
            Some(h) => {
                config.host(&h);
            }
            None if std::path::Path::new("/var/run/postgresql").is_dir() => {
                config.host_path("/var/run/postgresql");
            }
            None => {
                config.host("localhost");
            }
        }
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(std::time::Duration::from_secs(10));
    }
    config.application_name("crmtop");
    // Every statement planned for its parameters, on every connection
    // (a reconnect's too): a generic plan (the server's choice after
    // five runs of a prepared statement) walks a list's order whatever
    // the filter's text, and a rare one (`c00012`) read the whole
    // index: 2.0 s, against 9 ms planned for the text.
    let options = format!(
        "{} -c plan_cache_mode=force_custom_plan",
        config.get_options().unwrap_or("")
    );
    config.options(options.trim());
    Ok(config)
}

impl Pg {
    /// A connection made with `config`; read-only on the server when asked.
    pub(super) fn open(stream_config: tokio_postgres::Config, read_only: bool) -> Result<Pg> {
        let config = postgres::Config::from(stream_config.clone());
        let where_ = shown(&config);
        let client = config.connect(NoTls).map_err(|e| {
            Error::Other(format!(
                "cannot connect to the PostgreSQL server at {where_}: {}",
                message(&e)
            ))
        })?;
        let pg = Pg {
            client: RefCell::new(Some(client)),
            config,
            stream_config,
            stmts: RefCell::new(HashMap::new()),
            in_tx: Cell::new(false),
            commit_unknown: Cell::new(false),
            shown: where_,
            read_only,
        };
        if read_only {
            pg.batch("SET default_transaction_read_only = on")?;
        }
        Ok(pg)
    }

    /// Open the dropped connection again (its prepared statements with it).
    pub(super) fn reconnect(&self) -> Result<()> {
        let client = self.config.connect(NoTls).map_err(|e| {
            Error::Other(format!(
                "lost the connection to the PostgreSQL server at {} and could not connect again: {}",
                self.shown,
                message(&e)
            ))
        })?;
        *self.client.borrow_mut() = Some(client);
        self.stmts.borrow_mut().clear();
        if self.read_only {
            self.batch("SET default_transaction_read_only = on")?;
        }
        Ok(())
    }
}

/// The server's own message (and detail) of an error, else the driver's.
pub(super) fn message(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(d) => format!("{} ({d})", db.message()),
            None => db.message().to_string(),
        },
        None => {
            let mut s = e.to_string();
            let mut src = std::error::Error::source(e);
            while let Some(inner) = src {
                s = format!("{s}: {inner}");
                src = inner.source();
            }
            s
        }
    }
}
