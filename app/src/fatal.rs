//! A panic must never leave a silently frozen page: the hook writes the
//! message into the page's alert box (as text, never HTML), then logs it.

use std::panic::PanicHookInfo;

pub fn install() {
    std::panic::set_hook(Box::new(|info: &PanicHookInfo| {
        show(&format!(
            "Cluster Lab stopped because of an internal error. Reload the page to start again; \
             your scenario files are not affected.\n\nDetails: {info}"
        ));
        console_error_panic_hook::hook(info);
    }));
}

/// Shows `text` in the `#fatal` alert box of index.html.
pub fn show(text: &str) {
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else { return };
    if let Some(el) = doc.get_element_by_id("fatal") {
        el.set_text_content(Some(text));
        let _ = el.remove_attribute("hidden");
    }
}
