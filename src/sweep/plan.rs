//! The sweep plan (a TOML file): the grid of tasks and the settings of each stage. A task is one
//! search (strategy, arch order, space, seed) followed by a retraining and evaluations per sigma.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    pub grid: Grid,
    #[serde(default)]
    pub search: StageSettings,
    #[serde(default)]
    pub train: StageSettings,
    #[serde(default)]
    pub eval: EvalSettings,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grid {
    /// `hinas search --strategy` values ("darts", "random").
    #[serde(default = "default_strategies")]
    pub strategies: Vec<String>,
    /// `--arch-order` values for gradient-based strategies (random sampling has no order).
    #[serde(default = "default_orders")]
    pub arch_orders: Vec<u8>,
    pub seeds: Vec<u64>,
    #[serde(default = "default_spaces")]
    pub spaces: Vec<String>,
    /// Retraining (and evaluation) noise levels, 0-255.
    pub sigmas: Vec<f32>,
}

/// How one stage (search or train) runs: a budget, the training images, and config overrides
/// exactly as a `--config` file gives them (a file, an inline table, or both: the table wins).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageSettings {
    #[serde(default = "default_budget")]
    pub budget: String,
    #[serde(default = "default_data")]
    pub data: String,
    /// A `--config` TOML file (relative to the plan's folder).
    pub config: Option<PathBuf>,
    /// Inline overrides, merged over `config`.
    pub overrides: Option<toml::Table>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvalSettings {
    /// Test sets: builtin:test or folders (relative to the plan's folder).
    #[serde(default = "default_sets")]
    pub sets: Vec<String>,
    /// Seed of the test noise: the same for every task, so all see identical noisy inputs.
    #[serde(default)]
    pub seed: u64,
    #[serde(default = "default_protocol")]
    pub protocol: String,
}

impl Default for StageSettings {
    fn default() -> Self {
        StageSettings {
            budget: default_budget(),
            data: default_data(),
            config: None,
            overrides: None,
        }
    }
}

impl Default for EvalSettings {
    fn default() -> Self {
        EvalSettings {
            sets: default_sets(),
            seed: 0,
            protocol: default_protocol(),
        }
    }
}

fn default_strategies() -> Vec<String> {
    vec!["darts".into()]
}
fn default_orders() -> Vec<u8> {
    vec![1]
}
fn default_spaces() -> Vec<String> {
    vec!["cvpr2020".into()]
}
fn default_budget() -> String {
    "tiny".into()
}
fn default_data() -> String {
    "builtin:train".into()
}
fn default_sets() -> Vec<String> {
    vec!["builtin:test".into()]
}
fn default_protocol() -> String {
    "standard".into()
}

/// One cell of the grid.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub strategy: String,
    /// None for strategies without an order (random).
    pub arch_order: Option<u8>,
    pub space: String,
    pub seed: u64,
}

impl Task {
    /// The folder name: darts-o1-cvpr2020-s0, random-cvpr2020-s3.
    pub fn name(&self) -> String {
        format!("{}-{}-s{}", self.label(), self.space, self.seed)
    }

    /// Strategy and order, the unit the report compares: darts-o1, darts-o2, random.
    pub fn label(&self) -> String {
        match self.arch_order {
            Some(o) => format!("{}-o{o}", self.strategy),
            None => self.strategy.clone(),
        }
    }
}

/// A test set as a folder name and the `--data` value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TestSet {
    pub name: String,
    pub source: String,
}

/// A loaded plan with its paths resolved against the plan's folder.
#[derive(Clone, Debug)]
pub struct Loaded {
    pub path: PathBuf,
    pub plan: Plan,
}

fn resolve(base: &Path, p: &str) -> String {
    if p.starts_with("builtin:") || Path::new(p).is_absolute() {
        p.to_string()
    } else {
        base.join(p).display().to_string()
    }
}

/// A name safe in a folder name: letters, digits, '.', '_' and '-'.
fn folder_name(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// Sigma as it appears in folder names: 25, 12.5.
pub fn sigma_name(s: f32) -> String {
    format!("{s}")
}

impl Loaded {
    pub fn load(path: &Path) -> anyhow::Result<Loaded> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read plan {}: {e}", path.display()))?;
        let plan: Plan = toml::from_str(&text).map_err(|e| {
            anyhow::anyhow!(
                "bad plan {}: {}",
                path.display(),
                e.to_string()
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            )
        })?;
        let path = std::path::absolute(path)?;
        let base = path.parent().unwrap_or(Path::new("/")).to_path_buf();
        let mut plan = plan;
        for st in [&mut plan.search, &mut plan.train] {
            st.data = resolve(&base, &st.data);
            if let Some(c) = &st.config {
                st.config = Some(base.join(c));
            }
        }
        plan.eval.sets = plan.eval.sets.iter().map(|s| resolve(&base, s)).collect();
        let loaded = Loaded { path, plan };
        loaded.validate()?;
        Ok(loaded)
    }

    fn validate(&self) -> anyhow::Result<()> {
        let p = &self.plan;
        let g = &p.grid;
        anyhow::ensure!(!g.seeds.is_empty(), "plan: grid.seeds is empty");
        anyhow::ensure!(!g.sigmas.is_empty(), "plan: grid.sigmas is empty");
        anyhow::ensure!(!g.strategies.is_empty(), "plan: grid.strategies is empty");
        anyhow::ensure!(!g.spaces.is_empty(), "plan: grid.spaces is empty");
        anyhow::ensure!(!g.arch_orders.is_empty(), "plan: grid.arch_orders is empty");
        for s in &g.strategies {
            anyhow::ensure!(
                matches!(s.as_str(), "darts" | "random"),
                "plan: unknown strategy {s:?} (known: darts, random)"
            );
        }
        for o in &g.arch_orders {
            anyhow::ensure!(
                matches!(o, 1 | 2),
                "plan: arch order must be 1 or 2, not {o}"
            );
        }
        for s in &g.sigmas {
            crate::train::config::check_sigma(*s)?;
        }
        anyhow::ensure!(!p.eval.sets.is_empty(), "plan: eval.sets is empty");
        anyhow::ensure!(
            matches!(p.eval.protocol.as_str(), "standard" | "hinas-tiles"),
            "plan: eval.protocol must be \"standard\" or \"hinas-tiles\""
        );
        let sets = self.sets();
        for (i, s) in sets.iter().enumerate() {
            anyhow::ensure!(
                sets[..i].iter().all(|t| t.name != s.name),
                "plan: two test sets are both named {:?}",
                s.name
            );
        }
        // Every stage config resolves now, not in the middle of the sweep.
        for space in &g.spaces {
            let mut cfg =
                crate::search::config::SearchConfig::resolve(space, &p.search.budget, None)?;
            if let Some(over) = self.overrides(&p.search)? {
                cfg = crate::config_file::apply_value(cfg, over, "plan [search]")?;
            }
            cfg.validate()?;
        }
        let mut cfg = crate::train::config::TrainConfig::resolve(&p.train.budget, None)?;
        if let Some(over) = self.overrides(&p.train)? {
            cfg = crate::config_file::apply_value(cfg, over, "plan [train]")?;
        }
        cfg.validate()?;
        Ok(())
    }

    /// The merged overrides of a stage (its config file, then its inline table), if any.
    pub fn overrides(&self, st: &StageSettings) -> anyhow::Result<Option<toml::Value>> {
        let mut v: Option<toml::Value> = None;
        if let Some(path) = &st.config {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("cannot read config {}: {e}", path.display()))?;
            let t: toml::Value = toml::from_str(&text)
                .map_err(|e| anyhow::anyhow!("malformed config {}: {e}", path.display()))?;
            v = Some(t);
        }
        if let Some(t) = &st.overrides {
            let t = toml::Value::Table(t.clone());
            match &mut v {
                Some(base) => crate::config_file::merge_value(base, t),
                None => v = Some(t),
            }
        }
        Ok(v)
    }

    /// Every task, seeds outermost so a partial sweep already compares every strategy.
    pub fn tasks(&self) -> Vec<Task> {
        let g = &self.plan.grid;
        let mut out = Vec::new();
        for &seed in &g.seeds {
            for space in &g.spaces {
                for strategy in &g.strategies {
                    let orders: Vec<Option<u8>> = if strategy == "random" {
                        vec![None]
                    } else {
                        g.arch_orders.iter().map(|&o| Some(o)).collect()
                    };
                    for arch_order in orders {
                        let t = Task {
                            strategy: strategy.clone(),
                            arch_order,
                            space: space.clone(),
                            seed,
                        };
                        if !out.contains(&t) {
                            out.push(t);
                        }
                    }
                }
            }
        }
        out
    }

    pub fn sets(&self) -> Vec<TestSet> {
        self.plan
            .eval
            .sets
            .iter()
            .map(|s| {
                let name = match s.strip_prefix("builtin:") {
                    Some(b) => b.to_string(),
                    None => Path::new(s)
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_else(|| s.clone()),
                };
                TestSet {
                    name: folder_name(&name),
                    source: s.clone(),
                }
            })
            .collect()
    }
}
