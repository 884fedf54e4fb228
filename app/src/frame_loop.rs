//! Drives the lab from the browser's animation frames: each frame advances
//! the simulation by the real time that passed (times the speed), within
//! a compute budget, so the page stays responsive.

use crate::handle::LabHandle;
use leptos::prelude::request_animation_frame;

pub fn now_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map_or(0.0, |p| p.now())
}

pub fn start(handle: LabHandle) {
    schedule(handle, now_ms());
}

fn schedule(handle: LabHandle, last: f64) {
    request_animation_frame(move || {
        let start = now_ms();
        let budget = handle.budget_ms();
        handle.frame(start - last, || now_ms() - start < budget);
        schedule(handle, start);
    });
}
