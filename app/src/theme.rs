//! The colour theme: the system's, or one the learner picked, kept in
//! localStorage. The stylesheet gives every colour as `light-dark(...)`, so
//! a theme is only the root element's `color-scheme`.

/// Where the choice is kept.
const KEY: &str = "clusterlab.theme";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Theme {
    System,
    Light,
    Dark,
}

impl Theme {
    pub const ALL: [Theme; 3] = [Theme::System, Theme::Light, Theme::Dark];

    pub fn id(self) -> &'static str {
        match self {
            Theme::System => "system",
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Theme::System => "As the system",
            Theme::Light => "Light",
            Theme::Dark => "Dark",
        }
    }

    /// A stored value; anything else (an old or tampered value) is the
    /// system's theme.
    pub fn parse(text: &str) -> Theme {
        Theme::ALL.into_iter().find(|t| t.id() == text).unwrap_or(Theme::System)
    }

    fn color_scheme(self) -> &'static str {
        match self {
            Theme::System => "light dark",
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }

    /// The next one, for the keyboard shortcut.
    pub fn next(self) -> Theme {
        match self {
            Theme::System => Theme::Light,
            Theme::Light => Theme::Dark,
            Theme::Dark => Theme::System,
        }
    }
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// The stored choice.
pub fn load() -> Theme {
    storage().and_then(|s| s.get_item(KEY).ok().flatten()).map_or(Theme::System, |v| Theme::parse(&v))
}

/// Applies a theme to the page and keeps the choice.
pub fn apply(theme: Theme) {
    let root = web_sys::window().and_then(|w| w.document()).and_then(|d| d.document_element());
    if let Some(root) = root {
        let _ = root.set_attribute("style", &format!("color-scheme: {}", theme.color_scheme()));
        let _ = root.set_attribute("data-theme", theme.id());
    }
    if let Some(s) = storage() {
        // Private browsing may refuse to store: the theme still applies.
        let _ = s.set_item(KEY, theme.id());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_values_round_trip_and_anything_else_is_the_system_theme() {
        for t in Theme::ALL {
            assert_eq!(Theme::parse(t.id()), t);
        }
        assert_eq!(Theme::parse("<script>"), Theme::System);
        assert_eq!(Theme::parse(""), Theme::System);
        assert_eq!(Theme::System.next().next().next(), Theme::System);
    }
}
