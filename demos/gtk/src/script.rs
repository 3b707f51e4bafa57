//! `--script SECONDS`: the demo drives itself, the way a person would, for CI. It clicks
//! "Hash all", types a query a letter at a time, cancels one row, says when the bars are
//! worth a screenshot, and closes the window once every task it started has its outcome.

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use gtk::glib;
use gtk::prelude::*;

use crate::window::Demo;

/// How the scripted run ended.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    Finished,
    GaveUp,
}

pub fn run(demo: &Demo, seconds: f64, ended: Rc<Cell<Option<Ending>>>) {
    let start = Instant::now();
    let at = |ms: u64| Duration::from_millis(ms);
    let d = demo.clone();
    glib::timeout_add_local_once(at(300), move || d.hash_all.emit_clicked());
    for (delay, text) in [(500, "r"), (560, "ru"), (620, "rus")] {
        let d = demo.clone();
        glib::timeout_add_local_once(at(delay), move || d.entry.set_text(text));
    }
    // A row still queued, then one mid-way.
    let d = demo.clone();
    glib::timeout_add_local_once(at(900), move || {
        if let Some(row) = d.rows.last() {
            row.cancel.emit_clicked();
        }
    });
    let d = demo.clone();
    glib::timeout_add_local_once(at(1300), move || {
        let running = d
            .rows
            .iter()
            .find(|row| (0.05..0.9).contains(&row.fraction()));
        if let Some(row) = running {
            row.cancel.emit_clicked();
        }
    });
    let d = demo.clone();
    let photographed = Cell::new(false);
    let give_up = Duration::from_secs_f64(seconds + 20.0);
    glib::timeout_add_local(at(50), move || {
        let elapsed = start.elapsed();
        let mid_way = d
            .rows
            .iter()
            .any(|row| (0.2..0.8).contains(&row.fraction()));
        if !photographed.get() && elapsed > at(1500) && mid_way {
            photographed.set(true);
            println!("screenshot now");
        }
        let started = d.shared.started.borrow().clone();
        let tally = d.shared.ledger.tally(&started);
        let settled = elapsed > at(1500)
            && d.tasks().active_count() == 0
            && tally.without_outcome == 0
            && !started.is_empty();
        let ending = if settled {
            Ending::Finished
        } else if elapsed > give_up {
            Ending::GaveUp
        } else {
            return glib::ControlFlow::Continue;
        };
        ended.set(Some(ending));
        d.show_status();
        d.window.close();
        glib::ControlFlow::Break
    });
}
