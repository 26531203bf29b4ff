//! The upload follower: a thread that uploads the recording while it is written (parts as
//! fragments commit, the rest at stop) and then delivers the completion callback; and a second
//! one that finishes uploads and callbacks earlier runs left pending in the folder.

use std::path::Path;
use std::sync::Arc;

use crossbeam_channel::{bounded, Receiver, Sender};

use crate::error::{Error, Result};
use crate::event::{Event, UploadedObject};
use crate::notify::ClassInfo;
use crate::queue::LatestSender;
use crate::upload::{Growth, Uploader};

/// Starts the upload thread that follows the recording at `path`, and a second one that finishes
/// uploads left pending in the folder by earlier runs.
#[allow(clippy::type_complexity)]
pub(super) fn spawn_upload(
    uploader: Arc<Uploader>,
    path: &Path,
    folder: &Path,
    events: &LatestSender<Event>,
    follow: Follow,
) -> Result<(Sender<Growth>, Receiver<Result<UploadedObject>>, Receiver<Result<u32>>)> {
    let spawn_failed = |e: std::io::Error| Error::Internal(format!("cannot start the upload thread: {e}"));
    let (growth_tx, growth_rx) = crossbeam_channel::unbounded();
    let (done_tx, done_rx) = bounded(1);
    let (callback_tx, callback_rx) = bounded(1);
    {
        let (uploader, path, events) = (uploader.clone(), path.to_owned(), events.clone());
        std::thread::Builder::new()
            .name("classrec-upload".into())
            .spawn(move || {
                let result = uploader.follow(&path, &growth_rx, &events, follow.class.as_ref(), follow.start_time);
                let uploaded = result.is_ok();
                if let Err(e) = &result {
                    events.send(Event::UploadFailed {
                        message: format!("{e}; the local file `{}` is intact", path.display()),
                    });
                }
                let _ = done_tx.send(result);
                if uploaded {
                    if let Some(outcome) = uploader.deliver_callback(&path, Some(&events)) {
                        if let Err(e) = &outcome {
                            events.send(Event::CallbackFailed { message: e.to_string() });
                        }
                        let _ = callback_tx.send(outcome);
                    }
                }
            })
            .map_err(spawn_failed)?;
    }
    let (folder, events) = (folder.to_owned(), events.clone());
    std::thread::Builder::new()
        .name("classrec-resume".into())
        .spawn(move || {
            for (path, result) in uploader.resume_pending_with_events(&folder, Some(&events)) {
                if let Err(e) = result {
                    events.send(Event::UploadFailed {
                        message: format!("resuming the upload of `{}`: {e}", path.display()),
                    });
                }
            }
        })
        .map_err(spawn_failed)?;
    Ok((growth_tx, done_rx, callback_rx))
}

/// What the upload thread needs to know for the callback.
pub(super) struct Follow {
    pub class: Option<ClassInfo>,
    pub start_time: u64,
}
