//! The views. Each reads the snapshot and calls [`crate::handle::LabHandle`].

pub mod about;
pub mod app;
pub mod charts;
pub mod controls;
pub mod inspector;
pub mod log_view;
pub mod topology;
pub mod verdicts;
