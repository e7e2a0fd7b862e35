//! Which gateway the console connects to: `console.toml` in the data directory, overridden by
//! `COUNTERSIGN_GATEWAY_URL`, `COUNTERSIGN_REVIEWER`, `COUNTERSIGN_REVIEWER_NAME` and
//! `COUNTERSIGN_AUDIENCE`. Nothing configured means the embedded demo.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use countersign_wire::console::{GatewaySettings, Theme};
use serde::{Deserialize, Serialize};

const FILE: &str = "console.toml";

#[derive(Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gateway: Option<GatewaySettings>,
    #[serde(default, skip_serializing_if = "is_system")]
    theme: Theme,
}

fn is_system(theme: &Theme) -> bool {
    *theme == Theme::System
}

fn read_file(dir: &Path) -> anyhow::Result<SettingsFile> {
    let file = path(dir);
    let text = match std::fs::read_to_string(&file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(SettingsFile::default()),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", file.display())),
    };
    toml::from_str(&text).with_context(|| format!("{} is not valid", file.display()))
}

fn write_file(dir: &Path, settings: &SettingsFile) -> Result<(), String> {
    let text = toml::to_string_pretty(settings).map_err(|e| e.to_string())?;
    let file = path(dir);
    // Write then rename, so a crash never leaves half a settings file.
    let temporary = file.with_extension("toml.new");
    std::fs::write(&temporary, text)
        .and_then(|()| std::fs::rename(&temporary, &file))
        .map_err(|e| format!("cannot write {}: {e}", file.display()))
}

/// The saved theme; an unreadable file is the system's (the console must still open).
pub(crate) fn theme(dir: &Path) -> Theme {
    read_file(dir).map(|file| file.theme).unwrap_or_default()
}

/// Saves the theme, keeping the rest of the file as it is.
pub(crate) fn save_theme(dir: &Path, theme: Theme) -> anyhow::Result<()> {
    let mut settings = read_file(dir)?;
    settings.theme = theme;
    write_file(dir, &settings).map_err(anyhow::Error::msg)
}

pub(crate) fn path(dir: &Path) -> PathBuf {
    dir.join(FILE)
}

/// The saved settings (the file only).
pub(crate) fn saved(dir: &Path) -> anyhow::Result<Option<GatewaySettings>> {
    let file = path(dir);
    let parsed = read_file(dir)?;
    if let Some(gateway) = &parsed.gateway {
        let problems = gateway.problems();
        anyhow::ensure!(
            problems.is_empty(),
            "{}: {}",
            file.display(),
            problems.join("; ")
        );
    }
    Ok(parsed.gateway)
}

/// What to connect to: the environment first, then the file.
pub(crate) fn effective(dir: &Path) -> anyhow::Result<Option<GatewaySettings>> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let Some(url) = var("COUNTERSIGN_GATEWAY_URL") else {
        return saved(dir);
    };
    let identity = var("COUNTERSIGN_REVIEWER").unwrap_or_default();
    let settings = GatewaySettings {
        url,
        display_name: var("COUNTERSIGN_REVIEWER_NAME").unwrap_or_else(|| identity.clone()),
        identity,
        audience: var("COUNTERSIGN_AUDIENCE").unwrap_or_default(),
    };
    let problems = settings.problems();
    anyhow::ensure!(
        problems.is_empty(),
        "COUNTERSIGN_GATEWAY_URL is set, but {}",
        problems.join("; ")
    );
    Ok(Some(settings))
}

/// Saves the settings (validated); `None` returns to the embedded demo.
pub(crate) fn save(dir: &Path, gateway: Option<GatewaySettings>) -> Result<(), Vec<String>> {
    let gateway = gateway.map(|g| GatewaySettings {
        url: g.url.trim().trim_end_matches('/').to_owned(),
        identity: g.identity.trim().to_owned(),
        display_name: g.display_name.trim().to_owned(),
        audience: g.audience.trim().to_owned(),
    });
    if let Some(problems) = gateway.as_ref().map(GatewaySettings::problems)
        && !problems.is_empty()
    {
        return Err(problems);
    }
    // The theme stays as it was; a file that no longer reads is replaced by the new settings.
    let theme = read_file(dir).map(|file| file.theme).unwrap_or_default();
    write_file(dir, &SettingsFile { gateway, theme }).map_err(|e| vec![e])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> GatewaySettings {
        GatewaySettings {
            url: "https://gateway.example.com".into(),
            identity: "user:alice".into(),
            display_name: "Alice".into(),
            audience: "approvals.example.com".into(),
        }
    }

    #[test]
    fn the_theme_is_kept_apart_from_the_gateway_and_survives_saving_either() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(theme(dir.path()), Theme::System);
        save_theme(dir.path(), Theme::Dark).unwrap();
        save(dir.path(), Some(alice())).unwrap();
        assert_eq!(theme(dir.path()), Theme::Dark);
        assert_eq!(saved(dir.path()).unwrap(), Some(alice()));
        save_theme(dir.path(), Theme::Light).unwrap();
        assert_eq!(saved(dir.path()).unwrap(), Some(alice()));
        let text = std::fs::read_to_string(path(dir.path())).unwrap();
        assert!(text.contains("theme = \"light\""), "{text}");
        // Back to the system's: nothing about the theme is left in the file.
        save_theme(dir.path(), Theme::System).unwrap();
        let text = std::fs::read_to_string(path(dir.path())).unwrap();
        assert!(!text.contains("theme"), "{text}");
        // A file that does not read: the console still opens in the system's theme, and
        // choosing one reports the file rather than overwriting it.
        std::fs::write(path(dir.path()), "theme = 7\n").unwrap();
        assert_eq!(theme(dir.path()), Theme::System);
        assert!(save_theme(dir.path(), Theme::Dark).is_err());
        assert_eq!(
            std::fs::read_to_string(path(dir.path())).unwrap(),
            "theme = 7\n"
        );
    }

    #[test]
    fn no_file_means_the_embedded_demo() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(saved(dir.path()).unwrap(), None);
    }

    #[test]
    fn saved_settings_read_back_trimmed_and_the_demo_can_be_restored() {
        let dir = tempfile::tempdir().unwrap();
        let messy = GatewaySettings {
            url: " https://gateway.example.com/ ".into(),
            ..alice()
        };
        save(dir.path(), Some(messy)).unwrap();
        assert_eq!(saved(dir.path()).unwrap(), Some(alice()));
        save(dir.path(), None).unwrap();
        assert_eq!(saved(dir.path()).unwrap(), None);
    }

    #[test]
    fn invalid_settings_are_refused_and_the_saved_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        save(dir.path(), Some(alice())).unwrap();
        let bad = GatewaySettings {
            url: "gateway.example.com".into(),
            identity: String::new(),
            ..alice()
        };
        let problems = save(dir.path(), Some(bad)).unwrap_err();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert_eq!(saved(dir.path()).unwrap(), Some(alice()));
    }

    #[test]
    fn a_hand_edited_file_with_mistakes_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(path(dir.path()), "[gateway]\nurl = \"https://x\"\n").unwrap();
        let error = saved(dir.path()).unwrap_err();
        assert!(format!("{error:#}").contains("missing field"), "{error:#}");
        std::fs::write(
            path(dir.path()),
            "[gateway]\nurl = \"x\"\nidentity = \"user:a\"\ndisplay_name = \"A\"\naudience = \"aud\"\n",
        )
        .unwrap();
        let error = saved(dir.path()).unwrap_err();
        assert!(format!("{error:#}").contains("http://"), "{error:#}");
    }
}
