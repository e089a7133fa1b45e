//! Other sessions' changes, heard as they commit (`LISTEN crmtop_changes`;
//! the NOTIFY comes from a trigger on the feedback items).

use super::{message, Pg};
use crate::error::{Error, Result};
use postgres::NoTls;

/// Call `changed` whenever another session changes the feedback items
/// (`LISTEN crmtop_changes`), on a thread of its own with its own
/// connection, until `changed` returns false. A connection the server
/// drops is opened again (every second until it is back), and `changed` is
/// called then too: what happened meanwhile was not heard.
pub fn listen(url: &str, changed: impl Fn() -> bool + Send + 'static) -> Result<()> {
    let pg = Pg::connect(url, true)?;
    let config = pg.config.clone();
    let Some(mut client) = pg.lend() else {
        return Err(Error::Other("LISTEN: no connection".into()));
    };
    client
        .batch_execute("LISTEN crmtop_changes")
        .map_err(|e| Error::Other(format!("LISTEN: {}", message(&e))))?;
    std::thread::Builder::new()
        .name("crmtop-listen".into())
        .spawn(move || loop {
            let mut lost = false;
            {
                let mut n = client.notifications();
                let mut it = n.timeout_iter(std::time::Duration::from_secs(5));
                use postgres::fallible_iterator::FallibleIterator;
                loop {
                    match it.next() {
                        Ok(Some(_)) => {
                            if !changed() {
                                return;
                            }
                        }
                        // A quiet while: check the connection is alive.
                        Ok(None) => break,
                        Err(_) => {
                            lost = true;
                            break;
                        }
                    }
                }
            }
            if !lost && client.is_closed() {
                lost = true;
            }
            if !lost && client.batch_execute("SELECT 1").is_ok() {
                continue;
            }
            // Reconnect, then reload: changes may have been missed.
            loop {
                std::thread::sleep(std::time::Duration::from_secs(1));
                if let Ok(mut c) = config.connect(NoTls) {
                    if c.batch_execute("LISTEN crmtop_changes").is_ok() {
                        client = c;
                        break;
                    }
                }
            }
            if !changed() {
                return;
            }
        })
        .map_err(Error::Io)?;
    Ok(())
}
