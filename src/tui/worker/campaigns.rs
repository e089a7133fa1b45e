//! The Campaigns screen's requests: the list, one campaign's work list and
//! report, taking the next customer, recording an outcome, closing;
//! answered the same way on either engine (a file's connection, or a
//! server's).

use super::{Request, Response};
use crate::store;
use crate::store::sql::Writer;

impl Request {
    /// One of the Campaigns screen's requests (answered by [`answer`]).
    pub fn is_campaign(&self) -> bool {
        matches!(
            self,
            Request::Campaigns { .. }
                | Request::CampaignWork { .. }
                | Request::CampaignReport { .. }
                | Request::CampaignNext { .. }
                | Request::CampaignOutcome { .. }
                | Request::CampaignRelease { .. }
                | Request::CampaignClose { .. }
        )
    }
}

/// The answer to a campaign request (an error for any other request).
pub fn answer(db: &mut impl Writer, read_only: bool, req: Request) -> crate::Result<Response> {
    let refused = || {
        Err::<Response, _>(crate::Error::bad(
            "read-only (--read-only): campaigns cannot be changed",
        ))
    };
    Ok(match req {
        Request::Campaigns { gen } => Response::Campaigns {
            gen,
            rows: store::campaigns::list(&*db)?,
        },
        Request::CampaignWork {
            gen,
            id,
            offset,
            limit,
        } => Response::CampaignWork {
            gen,
            campaign: Box::new(store::campaigns::get_by_id(&*db, id)?),
            offset,
            rows: store::campaigns::work_page(&*db, id, offset, limit)?,
        },
        Request::CampaignReport { gen, id } => {
            let c = store::campaigns::get_by_id(&*db, id)?;
            Response::CampaignReport {
                gen,
                report: store::campaigns::measure(&*db, &c, None)
                    .map(Box::new)
                    .map_err(|e| e.to_string()),
            }
        }
        Request::CampaignNext { gen, id, agent } => {
            if read_only {
                return refused();
            }
            let taken = (|| {
                let c = store::campaigns::get_by_id(&*db, id)?;
                if c.status != "open" {
                    return Err(crate::Error::bad(format!(
                        "campaign '{}' is closed: its work list has ended",
                        crate::term::safe(&c.name)
                    )));
                }
                let row = db.write(
                    &mut |tx| match store::campaigns::claim_next(tx, id, &agent)? {
                        Some(cid) => store::campaigns::work_row(tx, id, cid),
                        None => Ok(None),
                    },
                )?;
                Ok(row.map(Box::new))
            })();
            Response::CampaignTaken {
                gen,
                taken: taken.map_err(|e: crate::Error| e.to_string()),
            }
        }
        Request::CampaignOutcome {
            gen,
            id,
            row,
            outcome,
            note,
            agent,
        } => {
            if read_only {
                return refused();
            }
            let result = db.write(&mut |tx| {
                store::campaigns::record_outcome(
                    tx,
                    id,
                    row.cid,
                    outcome,
                    note.as_deref(),
                    &agent,
                    Some(row.version),
                )
            });
            Response::CampaignRecorded {
                gen,
                customer_id: row.customer_id,
                outcome,
                result: result.map_err(|e: crate::Error| e.to_string()),
            }
        }
        Request::CampaignRelease {
            gen,
            id,
            row,
            agent,
        } => {
            if read_only {
                return refused();
            }
            let result =
                db.write(&mut |tx| store::campaigns::release(tx, id, row.cid, &agent, row.version));
            Response::CampaignReleased {
                gen,
                customer_id: row.customer_id,
                result: result.map_err(|e: crate::Error| e.to_string()),
            }
        }
        Request::CampaignClose { id, agent } => {
            if read_only {
                return refused();
            }
            let result =
                db.write(&mut |tx| store::campaigns::close_audited(tx, id, &agent).map(|_| ()));
            Response::CampaignClosed {
                id,
                result: result.map_err(|e: crate::Error| e.to_string()),
            }
        }
        other => {
            return Err(crate::Error::Other(format!(
                "not a campaign request: {}",
                super::trace::describe(&other)
            )))
        }
    })
}
