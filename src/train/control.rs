//! The owner's control of a running job (stop, pause, resume), read by the worker between
//! batches and between feature-extraction files.

use crossbeam_channel::Receiver;

use super::messages::{Control, Event, RunState};

/// Why a fold ended early.
#[derive(Debug)]
pub enum Interrupt {
    /// The owner asked to stop.
    Stopped,
}

/// Reads owner commands between batches; blocks while paused.
pub struct Controller {
    rx: Receiver<Control>,
}

impl Controller {
    /// Wraps the control channel.
    pub fn new(rx: Receiver<Control>) -> Self {
        Self { rx }
    }

    /// Handles pending commands. Returns `Err(Stopped)` when a stop was requested.
    pub fn poll(&self, emit: &dyn Fn(Event)) -> Result<(), Interrupt> {
        while let Ok(c) = self.rx.try_recv() {
            match c {
                Control::Stop => return Err(Interrupt::Stopped),
                Control::Resume => {}
                Control::Pause => {
                    emit(Event::State(RunState::Paused));
                    loop {
                        match self.rx.recv() {
                            Ok(Control::Resume) => {
                                emit(Event::State(RunState::Resumed));
                                break;
                            }
                            Ok(Control::Stop) | Err(_) => return Err(Interrupt::Stopped),
                            Ok(Control::Pause) => {}
                        }
                    }
                }
            }
        }
        Ok(())
    }
}
