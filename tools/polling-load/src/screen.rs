//! What one live socket shows: the newest results it received, as a screen
//! in the audience would display them.

use std::sync::Mutex;

use super::client::Shown;

/// The newest results one socket received; an older version arriving late
/// (after a reconnect to a replica behind) does not replace a newer one.
#[derive(Debug, Default)]
pub(crate) struct Screen(Mutex<Option<Shown>>);

impl Screen {
    /// Shows `shown`, unless the screen already shows a newer version.
    pub(crate) fn show(&self, shown: Shown) {
        let mut current = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if current.is_none_or(|c| shown.version >= c.version) {
            *current = Some(shown);
        }
    }

    /// What the screen shows; `None` before its first snapshot.
    pub(crate) fn shown(&self) -> Option<Shown> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_late_older_version_does_not_replace_a_newer_one() {
        let screen = Screen::default();
        assert_eq!(screen.shown(), None);
        let shown = |version, total| Shown { version, total };
        screen.show(shown(3, 3));
        screen.show(shown(5, 5));
        screen.show(shown(4, 4));
        assert_eq!(screen.shown(), Some(shown(5, 5)));
    }
}
