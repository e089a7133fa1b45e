//! The feedback queue's requests, answered the same way on either engine
//! (the file's connection, or a server's).

use super::{Request, Response};
use crate::store::sql::Writer;
use crate::store::{feedback, workflow};

fn refused(read_only: bool, what: &str) -> Option<Response> {
    read_only.then(|| Response::Failed {
        what: what.to_string(),
        message: "read-only (--read-only): the queue cannot be changed".into(),
    })
}

/// The answer to a queue request, or the request back when it is not one.
/// An item comes without its customer's detail (the file's executor adds
/// it).
pub fn answer(
    db: &mut impl Writer,
    read_only: bool,
    req: Request,
) -> crate::Result<Result<Response, Request>> {
    Ok(Ok(match req {
        Request::Queue {
            gen,
            filter,
            agent,
            sla,
            now,
            offset,
            limit,
        } => {
            let (items, total) =
                feedback::page(&*db, &filter, &agent, &sla, now, offset, Some(limit))?;
            let (kinds, channels) = feedback::queue_facets(&*db)?;
            Response::Queue {
                gen,
                items,
                total,
                kinds,
                channels,
            }
        }
        Request::QueueItem { gen, fid, sla, now } => {
            let item = feedback::item(&*db, fid, &sla, now)?;
            let history = match &item {
                Some(it) => crate::store::audit::for_entity(&*db, "feedback", &it.id, 50)?,
                None => vec![],
            };
            Response::QueueItem {
                gen,
                item: item.map(Box::new),
                history,
                customer: None,
            }
        }
        Request::QueueAct {
            targets,
            act,
            agent,
            now,
        } => {
            if let Some(r) = refused(read_only, act.name()) {
                return Ok(Ok(r));
            }
            let outcomes = workflow::act(db, &targets, &act, &agent, now)?;
            Response::QueueActed {
                act: act.name().to_string(),
                outcomes,
            }
        }
        Request::QueueUndo {
            fid,
            version,
            agent,
            now,
        } => {
            if let Some(r) = refused(read_only, "undo") {
                return Ok(Ok(r));
            }
            Response::QueueActed {
                act: "undo".into(),
                outcomes: vec![workflow::undo(db, fid, version, &agent, now)?],
            }
        }
        Request::QueueNext { agent, sla, now } => {
            if let Some(r) = refused(read_only, "next") {
                return Ok(Ok(r));
            }
            Response::QueueNext {
                claimed: workflow::next(db, &agent, &sla, now)?,
            }
        }
        Request::Agents => Response::Agents(workflow::known_agents(&*db)?),
        other => return Ok(Err(other)),
    }))
}
