//! Cluster Lab's single-page app: the engine running live in the page.
//! Logic lives in plain types ([`lab::Lab`], [`snapshot`], [`event_log`])
//! with native tests; the views in [`ui`] only read and forward clicks.

pub mod checkpoints;
pub mod editor;
pub mod event_log;
pub mod examples;
pub mod fatal;
pub mod frame_loop;
pub mod handle;
pub mod handle_edit;
pub mod kafka_details;
pub mod lab;
pub mod lesson;
pub mod path_view;
pub mod persist;
pub mod share;
pub mod snapshot;
pub mod theme;
pub mod time_text;
pub mod ui;
pub mod verdicts;

/// Mounts the app into the page.
pub fn start() {
    fatal::install();
    leptos::mount::mount_to_body(ui::app::App);
}
