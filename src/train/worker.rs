//! The training worker thread: owns the engine, talks only through channels, turns errors and
//! panics into a `Failed` state.

use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender, unbounded};

use super::control::Controller;
use super::messages::{Control, Event, RunRequest, RunState};
use super::run::execute;

/// Called after every event so the owner can wake up (the GUI passes `request_repaint`).
pub type Waker = Arc<dyn Fn() + Send + Sync>;

/// Owner's side of a running worker.
pub struct TrainHandle {
    /// Events from the worker.
    pub events: Receiver<Event>,
    control: Sender<Control>,
    thread: Option<JoinHandle<()>>,
}

impl TrainHandle {
    /// Sends a control command (ignored when the worker has ended).
    pub fn send(&self, c: Control) {
        let _ = self.control.send(c);
    }

    /// Whether the worker thread has ended.
    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(|t| t.is_finished())
    }

    /// Waits for the worker thread to end.
    pub fn join(mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// Starts a run on a named worker thread (`ser-train`).
pub fn spawn_training(req: RunRequest, waker: Option<Waker>) -> std::io::Result<TrainHandle> {
    spawn_with(
        move |controller, emit| execute(&req, controller, emit).map(|_| ()),
        waker,
    )
}

/// Runs `job` on the worker thread with the same event, control and failure handling (also used
/// by tests to inject failing steps).
pub fn spawn_with<F>(job: F, waker: Option<Waker>) -> std::io::Result<TrainHandle>
where
    F: FnOnce(&Controller, &(dyn Fn(Event) + Sync)) -> Result<(), String> + Send + 'static,
{
    let (etx, erx) = unbounded::<Event>();
    let (ctx, crx) = unbounded::<Control>();
    let thread = std::thread::Builder::new()
        .name("ser-train".into())
        .spawn(move || {
            let emit = move |e: Event| {
                let _ = etx.send(e);
                if let Some(w) = &waker {
                    w();
                }
            };
            emit(Event::State(RunState::Started));
            let controller = Controller::new(crx);
            let result =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&controller, &emit)));
            match result {
                Ok(Ok(())) => {}
                Ok(Err(msg)) => emit(Event::State(RunState::Failed(msg))),
                Err(p) => emit(Event::State(RunState::Failed(format!(
                    "training worker panicked: {}",
                    panic_message(&*p)
                )))),
            }
        })?;
    Ok(TrainHandle {
        events: erx,
        control: ctx,
        thread: Some(thread),
    })
}
