//! The views. Each reads the snapshot and calls [`crate::handle::LabHandle`].

pub mod about;
pub mod app;
pub mod build;
pub mod charts;
pub mod compare;
pub mod controls;
pub mod faults;
pub mod inspector;
pub mod lesson;
pub mod lesson_text;
pub mod log_view;
pub mod path;
pub mod share;
pub mod shortcuts;
pub mod timeline;
pub mod topology;
pub mod verdicts;
