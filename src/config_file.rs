//! TOML config files: any field of a resolved config can be overridden by a file that names only
//! the fields it changes (a run's own `config.toml` is a complete example).

use serde::{de::DeserializeOwned, Serialize};
use std::path::{Path, PathBuf};

/// A config file that is not valid TOML, or whose values do not fit the config: the parser's
/// message with its caret diagram under the offending line, kept whole when printed.
#[derive(Debug)]
pub struct TomlError {
    pub file: PathBuf,
    pub message: String,
}

impl std::fmt::Display for TomlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "bad config {}: {}", self.file.display(), self.message)
    }
}

impl std::error::Error for TomlError {}

/// `cfg` with every field that `file` sets replaced; unknown or mistyped fields are errors that
/// name the file (the config structs deny unknown fields).
pub fn apply_overrides<T: Serialize + DeserializeOwned>(cfg: T, file: &Path) -> anyhow::Result<T> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| anyhow::anyhow!("cannot read config {}: {e}", file.display()))?;
    let err = |message: String| TomlError {
        file: file.to_path_buf(),
        message,
    };
    let over: toml::Table = toml::from_str(&text).map_err(|e| err(e.to_string()))?;
    let mut base = toml::Table::try_from(&cfg)?;
    merge(&mut base, over);
    // Deserialised from text so that a mistyped value is reported with its line: the user's
    // lines come first, verbatim, and only the fields they leave out are appended.
    let merged = toml::to_string(&base)?;
    match toml::from_str::<T>(&merged) {
        Ok(v) => Ok(v),
        Err(e) => Err(err(locate(&e, &merged, &text)).into()),
    }
}

/// The message of an error in the merged config with a caret diagram under the user's own line
/// for the offending key (found by name: the merged text's line numbers mean nothing to them).
fn locate(e: &toml::de::Error, merged: &str, user_text: &str) -> String {
    let msg = e.message().trim().to_string();
    // The key on the merged line the error points at, else one named in the message
    // ("unknown field `x`").
    let at_span = e.span().and_then(|s| {
        let start = merged[..s.start.min(merged.len())]
            .rfind('\n')
            .map_or(0, |i| i + 1);
        let line = merged[start..].lines().next()?;
        line.contains('=')
            .then(|| line.split('=').next().unwrap_or("").trim().to_string())
    });
    let key = at_span
        .or_else(|| msg.split('`').nth(1).map(str::to_string))
        .filter(|k| !k.is_empty());
    let found = key.and_then(|k| {
        user_text.lines().enumerate().find_map(|(i, l)| {
            let t = l.trim_start();
            let name = t.split('=').next()?.trim().trim_matches('"');
            (t.contains('=') && name == k).then(|| (i, l.to_string(), l.len() - t.len()))
        })
    });
    match found {
        Some((i, line, col)) => {
            let n = (i + 1).to_string();
            let pad = " ".repeat(n.len());
            format!(
                "line {}\n{pad} |\n{n} | {line}\n{pad} | {}{}\n{msg}",
                i + 1,
                " ".repeat(col),
                "^".repeat(line.trim().len().max(1))
            )
        }
        None => msg,
    }
}

/// A numeric config field must be a finite number (TOML allows inf and nan).
pub fn check_finite(name: &str, v: f64) -> anyhow::Result<()> {
    anyhow::ensure!(v.is_finite(), "{name} must be a finite number, not {v}");
    Ok(())
}

/// Size ceilings shared by the search and training configs, far above any real run (the paper:
/// batch 6, 64x64 patches): a value beyond them is a typo.
pub const MAX_BATCH: usize = 65_536;
/// Patch and crop sides, in pixels.
pub const MAX_SIDE: usize = 65_536;
/// The smallest patch: the SSIM in the loss and the validation uses an 11x11 window.
pub const MIN_PATCH: usize = 11;

/// A count or size with a documented ceiling.
pub fn check_at_most(name: &str, v: usize, max: usize) -> anyhow::Result<()> {
    anyhow::ensure!(v <= max, "{name} = {v} is above the ceiling of {max}");
    Ok(())
}

/// `cfg` with every field that the TOML value `over` sets replaced (a sweep plan's inline
/// settings); `what` names its origin in errors.
pub fn apply_value<T: Serialize + DeserializeOwned>(
    cfg: T,
    over: toml::Value,
    what: &str,
) -> anyhow::Result<T> {
    let toml::Value::Table(over) = over else {
        anyhow::bail!("bad config {what}: expected a table of settings");
    };
    let mut base = toml::Table::try_from(&cfg)?;
    merge(&mut base, over);
    toml::Value::Table(base)
        .try_into()
        .map_err(|e: toml::de::Error| anyhow::anyhow!("bad config {what}: {}", e.message().trim()))
}

/// Deep merge of TOML values: tables field by field, anything else replaced.
pub fn merge_value(base: &mut toml::Value, over: toml::Value) {
    match (base, over) {
        (toml::Value::Table(b), toml::Value::Table(o)) => merge(b, o),
        (b, o) => *b = o,
    }
}

fn merge(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

/// The first field in which two configs differ, as (dotted key, value in `a`, value in `b`).
pub fn first_difference<T: Serialize>(a: &T, b: &T) -> Option<(String, String, String)> {
    let a = toml::Value::try_from(a).ok()?;
    let b = toml::Value::try_from(b).ok()?;
    diff("", &a, &b)
}

fn diff(prefix: &str, a: &toml::Value, b: &toml::Value) -> Option<(String, String, String)> {
    match (a, b) {
        (toml::Value::Table(x), toml::Value::Table(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter().find_map(|k| {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                match (x.get(k), y.get(k)) {
                    (Some(p), Some(q)) => diff(&key, p, q),
                    (p, q) => Some((key, show(p), show(q))),
                }
            })
        }
        _ if a == b => None,
        _ => Some((prefix.to_string(), a.to_string(), b.to_string())),
    }
}

fn show(v: Option<&toml::Value>) -> String {
    v.map(|v| v.to_string()).unwrap_or_else(|| "(unset)".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, serde::Deserialize, Debug, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        epochs: usize,
        lr: f64,
    }
    #[derive(Serialize, serde::Deserialize, Debug, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Cfg {
        search: Inner,
    }

    fn base() -> Cfg {
        Cfg {
            search: Inner { epochs: 3, lr: 0.1 },
        }
    }

    #[test]
    fn differences_name_the_dotted_key() {
        let mut b = base();
        b.search.lr = 0.2;
        assert_eq!(
            first_difference(&base(), &b),
            Some(("search.lr".into(), "0.1".into(), "0.2".into()))
        );
        assert_eq!(first_difference(&base(), &base()), None);
    }

    #[test]
    fn errors_keep_a_caret_diagram() {
        let f = std::env::temp_dir().join(format!("hinas-cfg-{}.toml", std::process::id()));
        std::fs::write(&f, "[search]\nepochs = \"many\"\n").unwrap();
        let e = apply_overrides(base(), &f).unwrap_err().to_string();
        assert!(e.contains("2 | epochs = \"many\""), "{e}");
        assert!(e.contains('^'), "{e}");
        std::fs::write(&f, "[search\nepochs = 3\n").unwrap();
        let e = apply_overrides(base(), &f).unwrap_err().to_string();
        assert!(e.contains('^') && e.lines().count() > 2, "{e}");
        std::fs::write(&f, "[search]\nepochs = 4\n").unwrap();
        assert_eq!(apply_overrides(base(), &f).unwrap().search.epochs, 4);
        let _ = std::fs::remove_file(&f);
    }
}
