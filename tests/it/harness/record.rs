//! The one recording reporter: keeps every event the engine reports, and can run a hook on
//! each one first (stop the run, kill a connection, take a lock) for tests of what happens
//! in between.

use std::cell::RefCell;

use bellows::engine::{Event, Reporter};

type Hook<'a> = Box<dyn Fn(&Event) + 'a>;

/// Every event reported, in order.
#[derive(Default)]
pub struct Recorder<'a> {
    events: RefCell<Vec<Event>>,
    hook: Option<Hook<'a>>,
}

impl<'a> Recorder<'a> {
    pub fn new() -> Recorder<'a> {
        Recorder::default()
    }

    /// A recorder that calls `hook` with each event before keeping it.
    pub fn with(hook: impl Fn(&Event) + 'a) -> Recorder<'a> {
        Recorder {
            events: RefCell::new(Vec::new()),
            hook: Some(Box::new(hook)),
        }
    }

    /// The events so far.
    pub fn events(&self) -> Vec<Event> {
        self.events.borrow().clone()
    }

    /// How many events so far match `pick`.
    pub fn count(&self, pick: impl Fn(&Event) -> bool) -> usize {
        self.events.borrow().iter().filter(|e| pick(e)).count()
    }
}

impl Reporter for Recorder<'_> {
    fn report(&self, event: Event) {
        if let Some(hook) = &self.hook {
            hook(&event);
        }
        self.events.borrow_mut().push(event);
    }
}
