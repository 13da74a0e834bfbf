//! TOML config files: any field of a resolved config can be overridden by a file that names only
//! the fields it changes (a run's own `config.toml` is a complete example).

use serde::{de::DeserializeOwned, Serialize};
use std::path::Path;

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `cfg` with every field that `file` sets replaced; unknown or mistyped fields are errors that
/// name the file (the config structs deny unknown fields).
pub fn apply_overrides<T: Serialize + DeserializeOwned>(cfg: T, file: &Path) -> anyhow::Result<T> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| anyhow::anyhow!("cannot read config {}: {e}", file.display()))?;
    let over: toml::Value = toml::from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "malformed config {}: {}",
            file.display(),
            one_line(&e.to_string())
        )
    })?;
    apply_value(cfg, over, &file.display().to_string())
}

/// `cfg` with every field that the TOML value `over` sets replaced; `what` names its origin in
/// errors.
pub fn apply_value<T: Serialize + DeserializeOwned>(
    cfg: T,
    over: toml::Value,
    what: &str,
) -> anyhow::Result<T> {
    let mut base = toml::Value::try_from(&cfg)?;
    merge(&mut base, over);
    base.try_into().map_err(|e: toml::de::Error| {
        anyhow::anyhow!("bad config {what}: {}", one_line(&e.to_string()))
    })
}

/// Deep merge: tables field by field, anything else replaced.
pub fn merge(base: &mut toml::Value, over: toml::Value) {
    match (base, over) {
        (toml::Value::Table(b), toml::Value::Table(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(bv) => merge(bv, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, o) => *b = o,
    }
}
