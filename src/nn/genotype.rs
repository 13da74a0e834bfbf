//! From architecture weights to a discrete network: the DARTS cell rule and Viterbi decoding of
//! the width path (docs/method.md §1-§2), and the genotype file that `search` writes and `train` reads.

use super::cell::{edge_count, Edge};
use super::space::SpaceCfg;
use super::supernet::{router_row, sources};
use rand::seq::IndexedRandom;
use rand::Rng;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Genotype {
    /// The search space the genotype came from (widths, op names, activation, channels).
    pub space: SpaceCfg,
    /// Per layer, 2 edges per node (all layers equal when cells are tied).
    pub cells: Vec<Vec<Edge>>,
    /// Width level per layer.
    pub path: Vec<usize>,
    /// softmax(alpha): per alpha set, per edge, per op.
    pub alphas: Vec<Vec<Vec<f32>>>,
    /// Masked softmax(beta): per router row, [down, stay, up].
    pub betas: Vec<[f32; 3]>,
    /// Search epoch (1-based) whose weights gave this genotype, and its validation scores.
    pub epoch: usize,
    pub val_psnr: f64,
    pub val_ssim: f64,
    /// How the genotype was chosen: "darts" (a search) or "random" (sampled from the space).
    #[serde(default = "default_strategy")]
    pub strategy: String,
    /// The architecture gradient's order of a DARTS search (1 or 2; 0 for a random sample).
    #[serde(default = "default_arch_order")]
    pub arch_order: usize,
}

fn default_strategy() -> String {
    "darts".into()
}

fn default_arch_order() -> usize {
    1
}

impl Genotype {
    pub fn load(path: &std::path::Path) -> anyhow::Result<Genotype> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read genotype {}: {e}", path.display()))?;
        let g = Genotype::from_json(&text)
            .map_err(|e| anyhow::anyhow!("malformed genotype {}: {e}", path.display()))?;
        g.validate()
            .map_err(|e| anyhow::anyhow!("invalid genotype {}: {e}", path.display()))?;
        Ok(g)
    }

    /// Parses a genotype (not validated). Files written before the space named its output form
    /// have `"residual": bool` instead, which chose only the supernet's output: the retrained
    /// network, the one a genotype file builds, always ended in `noisy - head`, which is
    /// `"output": "residual"`.
    pub fn from_json(text: &str) -> serde_json::Result<Genotype> {
        let mut v: serde_json::Value = serde_json::from_str(text)?;
        if let Some(space) = v.get_mut("space").and_then(|s| s.as_object_mut()) {
            if !space.contains_key("output") && space.remove("residual").is_some() {
                space.insert("output".into(), "residual".into());
            }
        }
        serde_json::from_value(v)
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        self.space.validate()?;
        anyhow::ensure!(
            self.cells.len() == self.space.layers,
            "{} cells for {} layers",
            self.cells.len(),
            self.space.layers
        );
        anyhow::ensure!(
            self.path.len() == self.space.layers,
            "path has {} levels for {} layers",
            self.path.len(),
            self.space.layers
        );
        for (l, &lv) in self.path.iter().enumerate() {
            anyhow::ensure!(
                lv <= self.space.top_level(l),
                "path level {lv} unreachable at layer {l}"
            );
            if l > 0 {
                anyhow::ensure!(
                    lv.abs_diff(self.path[l - 1]) <= 1,
                    "path jumps from level {} to {lv}",
                    self.path[l - 1]
                );
            } else {
                anyhow::ensure!(lv <= 1, "the path must start at level 0 or 1");
            }
        }
        for cell in &self.cells {
            anyhow::ensure!(
                cell.len() == 2 * self.space.nodes,
                "a cell has {} edges, expected {}",
                cell.len(),
                2 * self.space.nodes
            );
            for (n, e) in cell.iter().enumerate() {
                let kind = super::candidates::OpKind::from_name(&e.op)?;
                anyhow::ensure!(
                    kind != super::candidates::OpKind::Zero,
                    "edge {n} uses 'none'"
                );
                anyhow::ensure!(
                    e.input < 2 + n / 2,
                    "edge {n} reads state {} which does not exist yet",
                    e.input
                );
            }
        }
        Ok(())
    }
}

/// The DARTS rule: per node keep the 2 incoming edges whose strongest non-'none' op weighs most,
/// each with that op. `alpha` holds `edge_count(nodes)` rows of `ops.len()` softmaxed weights.
pub fn derive_cell(alpha: &[f32], ops: &[String], nodes: usize) -> Vec<Edge> {
    let k = ops.len();
    assert_eq!(alpha.len(), edge_count(nodes) * k);
    let best_op = |e: usize| -> (usize, f32) {
        (0..k)
            .filter(|&o| ops[o] != "none")
            .map(|o| (o, alpha[e * k + o]))
            .fold((usize::MAX, f32::NEG_INFINITY), |b, c| {
                if c.1 > b.1 {
                    c
                } else {
                    b
                }
            })
    };
    let mut out = Vec::new();
    let mut e0 = 0;
    for j in 0..nodes {
        let n_in = 2 + j;
        let mut cands: Vec<(usize, usize, f32)> = (0..n_in)
            .map(|i| (i, best_op(e0 + i).0, best_op(e0 + i).1))
            .collect();
        // Strongest first; ties keep the earlier input (stable sort).
        cands.sort_by(|a, b| b.2.partial_cmp(&a.2).unwrap_or(std::cmp::Ordering::Equal));
        let mut keep: Vec<_> = cands.into_iter().take(2).collect();
        keep.sort_by_key(|c| c.0);
        for (i, o, _) in keep {
            out.push(Edge {
                op: ops[o].clone(),
                input: i,
            });
        }
        e0 += n_in;
    }
    out
}

/// Every width path the trellis allows: level 0 or 1 at the first layer, then at most one
/// level up or down per layer, never above the layer's top level.
pub fn valid_paths(cfg: &SpaceCfg) -> Vec<Vec<usize>> {
    let mut paths: Vec<Vec<usize>> = vec![vec![]];
    for l in 0..cfg.layers {
        let mut next = Vec::new();
        for p in &paths {
            let from = p.last().copied().unwrap_or(0);
            for level in from.saturating_sub(1)..=(from + 1).min(cfg.top_level(l)) {
                let mut q = p.clone();
                q.push(level);
                next.push(q);
            }
        }
        paths = next;
    }
    paths
}

/// A genotype drawn uniformly from the space (the random-search control): per node two distinct
/// inputs among its predecessors, each with an op drawn uniformly from the ops other than
/// `none`; one cell for all layers when cells are tied, else one per layer; the width path
/// uniformly from the valid paths.
pub fn random_genotype(space: &SpaceCfg, rng: &mut impl Rng) -> Genotype {
    let ops: Vec<&String> = space.ops.iter().filter(|o| *o != "none").collect();
    let sample_cell = |rng: &mut _| -> Vec<Edge> {
        let mut edges = Vec::new();
        for j in 0..space.nodes {
            let inputs: Vec<usize> = (0..2 + j).collect();
            let mut pick: Vec<usize> = inputs.choose_multiple(rng, 2).copied().collect();
            pick.sort_unstable();
            for input in pick {
                let op = (*ops
                    .choose(rng)
                    .expect("the space has an op other than none"))
                .clone();
                edges.push(Edge { op, input });
            }
        }
        edges
    };
    let cells = if space.tied_cells {
        let cell = sample_cell(rng);
        vec![cell; space.layers]
    } else {
        (0..space.layers).map(|_| sample_cell(rng)).collect()
    };
    let paths = valid_paths(space);
    let path = paths.choose(rng).expect("a trellis has a path").clone();
    Genotype {
        space: space.clone(),
        cells,
        path,
        alphas: Vec::new(),
        betas: Vec::new(),
        epoch: 0,
        val_psnr: 0.0,
        val_ssim: 0.0,
        strategy: "random".into(),
        arch_order: 0,
    }
}

/// Log-probability of a width path under the betas (the score Viterbi maximises).
pub fn path_log_prob(cfg: &SpaceCfg, beta: &[[f32; 3]], path: &[usize]) -> f64 {
    let mut from = 0usize;
    let mut lp = 0.0;
    for (l, &to) in path.iter().enumerate() {
        let d = to + 1 - from;
        lp += (beta[router_row(cfg, l, from)][d] as f64).max(1e-300).ln();
        from = to;
    }
    lp
}

/// One decision of a search and how clearly it was won.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// e.g. "edge 1 of node 2" or "path".
    pub what: String,
    pub chosen: String,
    pub runner_up: String,
    /// Chosen minus runner-up: softmax weights for an op, log-probabilities for the path.
    pub margin: f64,
    /// The chosen op's softmax weight divided by the uniform weight (1 for the path).
    pub vs_uniform: f64,
}

/// Margins below this fraction of the uniform weight are within the noise. Measured: the
/// default `tiny` search run twice, once with each conv kernel family (the same arithmetic in
/// another summation order), ended with different cells whose winning margins reached 0.071
/// (0.57 of the uniform weight 0.125) and different paths (log-probability margins 0.26 and
/// 0.03): rounding alone moves a margin that far, so only larger ones are called significant.
pub const SIGNIFICANT_FRACTION_OF_UNIFORM: f64 = 0.6;
/// The same for the path, in log-probability.
pub const SIGNIFICANT_PATH_LOG_RATIO: f64 = 0.3;

impl Decision {
    pub fn significant(&self, n_ops: usize) -> bool {
        if self.what == "path" {
            self.margin >= SIGNIFICANT_PATH_LOG_RATIO
        } else {
            self.margin >= SIGNIFICANT_FRACTION_OF_UNIFORM / n_ops as f64
        }
    }
}

/// The op decision of every edge a derived cell keeps (chosen vs runner-up op, `none` excluded)
/// for each alpha set, then the path (Viterbi's best vs the second-best valid path).
pub fn decisions(g: &Genotype) -> Vec<Decision> {
    let ops = &g.space.ops;
    let k = ops.len();
    let mut out = Vec::new();
    for (set, alpha) in g.alphas.iter().enumerate() {
        let mut e0 = 0;
        let mut kept = g.cells[set].iter();
        for j in 0..g.space.nodes {
            for _ in 0..2 {
                let edge = kept.next().expect("two edges per node");
                let row = &alpha[e0 + edge.input];
                let mut ranked: Vec<usize> = (0..k).filter(|&o| ops[o] != "none").collect();
                ranked.sort_by(|&a, &b| row[b].total_cmp(&row[a]));
                let (c, r) = (ranked[0], ranked.get(1).copied().unwrap_or(ranked[0]));
                let prefix = if g.alphas.len() > 1 {
                    format!("layer {set}: ")
                } else {
                    String::new()
                };
                out.push(Decision {
                    what: format!("{prefix}edge {} of node {j}", edge.input),
                    chosen: ops[c].clone(),
                    runner_up: ops[r].clone(),
                    margin: (row[c] - row[r]) as f64,
                    vs_uniform: row[c] as f64 * k as f64,
                });
            }
            e0 += 2 + j;
        }
    }
    if !g.betas.is_empty() {
        let mut scored: Vec<(f64, Vec<usize>)> = valid_paths(&g.space)
            .into_iter()
            .map(|p| (path_log_prob(&g.space, &g.betas, &p), p))
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        let runner = scored.iter().find(|(_, p)| *p != g.path);
        let best = path_log_prob(&g.space, &g.betas, &g.path);
        if let Some((second, p)) = runner {
            out.push(Decision {
                what: "path".into(),
                chosen: format!("{:?}", g.path),
                runner_up: format!("{p:?}"),
                margin: best - second,
                vs_uniform: 1.0,
            });
        }
    }
    out
}

/// Per alpha row (edge), the strongest op other than `none` as a multiple of the uniform weight.
pub fn edge_strengths(alpha: &[Vec<f32>], ops: &[String]) -> Vec<f64> {
    alpha
        .iter()
        .map(|row| {
            row.iter()
                .zip(ops)
                .filter(|(_, o)| *o != "none")
                .map(|(w, _)| *w as f64)
                .fold(0.0, f64::max)
                * ops.len() as f64
        })
        .collect()
}

/// Mean entropy (nats) of the rows of a softmax.
pub fn mean_entropy<'a>(rows: impl Iterator<Item = &'a [f32]>) -> f64 {
    let (mut sum, mut n) = (0.0, 0usize);
    for r in rows {
        sum -= r
            .iter()
            .filter(|&&p| p > 0.0)
            .map(|&p| p as f64 * (p as f64).ln())
            .sum::<f64>();
        n += 1;
    }
    if n == 0 {
        0.0
    } else {
        sum / n as f64
    }
}

/// Viterbi decoding of the most probable width path through the trellis: start at level 0 (the
/// stem), each layer moves down/stays/goes up with the probabilities of its source's beta row.
/// `beta` holds `router_rows` rows of 3 masked-softmax probabilities.
pub fn viterbi(cfg: &SpaceCfg, beta: &[[f32; 3]]) -> Vec<usize> {
    let mut score = vec![0.0f64]; // log-probability of being at each level; the stem is level 0
    let mut back: Vec<Vec<usize>> = Vec::new();
    for l in 0..cfg.layers {
        let top = cfg.top_level(l);
        let mut next = vec![f64::NEG_INFINITY; top + 1];
        let mut from = vec![0usize; top + 1];
        for i in 0..sources(cfg, l) {
            for (d, &p) in beta[router_row(cfg, l, i)].iter().enumerate() {
                let j = i as isize + d as isize - 1;
                if j < 0 || j > top as isize {
                    continue;
                }
                let s = score[i] + (p as f64).max(1e-300).ln();
                if s > next[j as usize] {
                    next[j as usize] = s;
                    from[j as usize] = i;
                }
            }
        }
        score = next;
        back.push(from);
    }
    let mut level = (0..score.len()).fold(0, |b, j| if score[j] > score[b] { j } else { b });
    let mut path = vec![0; cfg.layers];
    for l in (0..cfg.layers).rev() {
        path[l] = level;
        level = back[l][level];
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ops() -> Vec<String> {
        ["con_c_3x3", "sep_c_3x3", "skip_connect", "none"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    #[test]
    fn files_from_before_the_output_form_still_load() {
        let old = include_str!("../../tests/configs/genotype_before_output_form.json");
        assert!(
            old.contains("\"residual\": false"),
            "the fixture is no longer old-format"
        );
        let g = Genotype::from_json(old).unwrap();
        assert_eq!(g.space.output, super::super::space::OutputForm::Residual);
        g.validate().unwrap();
        // The same file as written today parses to the same genotype.
        let today = old.replace("\"residual\": false", "\"output\": \"residual\"");
        assert_eq!(Genotype::from_json(&today).unwrap(), g);
        // A file with both keeps its own output form and fails on the unknown key, and other
        // unknown keys still fail.
        let both = old.replace(
            "\"residual\": false",
            "\"residual\": true, \"output\": \"sigmoid\"",
        );
        assert!(Genotype::from_json(&both).is_err());
        let typo = old.replace("\"residual\": false", "\"outptu\": \"residual\"");
        assert!(Genotype::from_json(&typo).is_err());
    }

    #[test]
    fn cell_keeps_two_strongest_edges_and_never_none() {
        // 2 nodes: node 0 has edges from states 0,1; node 1 from states 0,1,2.
        let a = vec![
            0.1, 0.2, 0.1, 0.6, // e0 (node0 <- s0): none dominates, best real op sep (0.2)
            0.5, 0.1, 0.3, 0.1, // e1 (node0 <- s1): conv 0.5
            0.3, 0.3, 0.35, 0.05, // e2 (node1 <- s0): skip 0.35
            0.1, 0.1, 0.1, 0.7, // e3 (node1 <- s1): best 0.1 (conv, first of ties)
            0.05, 0.9, 0.02, 0.03, // e4 (node1 <- node0): sep 0.9
        ];
        let cell = derive_cell(&a, &ops(), 2);
        let want = vec![
            Edge {
                op: "sep_c_3x3".into(),
                input: 0,
            },
            Edge {
                op: "con_c_3x3".into(),
                input: 1,
            },
            Edge {
                op: "skip_connect".into(),
                input: 0,
            },
            Edge {
                op: "sep_c_3x3".into(),
                input: 2,
            },
        ];
        assert_eq!(cell, want);
    }

    #[test]
    fn viterbi_follows_the_most_probable_path_not_the_greedy_one() {
        let cfg = SpaceCfg::preset("ijcv2022").unwrap();
        // Rows: layer0 [stem]; layer1 [lvl0, lvl1]; layer2 [lvl0, lvl1, lvl2].
        let mut beta = vec![[0.0f32; 3]; 6];
        beta[0] = [0.0, 0.55, 0.45]; // greedy: stay at 0
        beta[1] = [0.0, 0.5, 0.5]; // from level 0 at layer 1
        beta[2] = [0.05, 0.05, 0.9]; // from level 1: strongly up
        beta[3] = [0.0, 0.6, 0.4];
        beta[4] = [0.3, 0.4, 0.3];
        beta[5] = [0.1, 0.9, 0.0]; // level 2 stays
                                   // 0->0->1->? : .55*.5*max(.3,.4,.3)=0.11 ; 0->1->2->2: .45*.9*.9=0.3645 ; 0->0->0: .55*.5*.6
        assert_eq!(viterbi(&cfg, &beta), vec![1, 2, 2]);
        beta[2] = [0.9, 0.05, 0.05];
        beta[0] = [0.0, 0.9, 0.1];
        assert_eq!(viterbi(&cfg, &beta), vec![0, 0, 0]);
    }

    #[test]
    fn beta_mask_blocks_impossible_moves() {
        let cfg = SpaceCfg::preset("ijcv2022").unwrap();
        let m = super::super::supernet::beta_mask(&cfg);
        assert_eq!(m.len(), 18);
        // stem row: down impossible, stay and up possible
        assert_eq!(&m[0..3], &[-50.0, 0.0, 0.0]);
        // layer 2, source level 2: up impossible (3 levels)
        assert_eq!(&m[15..18], &[0.0, 0.0, -50.0]);
    }
}

#[cfg(test)]
mod sampling_tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn random_genotypes_are_valid_seeded_and_cover_the_space() {
        for space in ["cvpr2020", "ijcv2022"] {
            let cfg = SpaceCfg::preset(space).unwrap();
            let draw =
                |seed| random_genotype(&cfg, &mut rand_chacha::ChaCha8Rng::seed_from_u64(seed));
            assert_eq!(draw(7), draw(7), "same seed, same genotype");
            let mut ops = std::collections::BTreeSet::new();
            let mut paths = std::collections::BTreeSet::new();
            let mut inputs = std::collections::BTreeSet::new();
            for seed in 0..300 {
                let g = draw(seed);
                g.validate().unwrap();
                assert_eq!(g.strategy, "random");
                if cfg.tied_cells {
                    assert!(g.cells.iter().all(|c| *c == g.cells[0]));
                }
                for cell in &g.cells {
                    for node in cell.chunks(2) {
                        assert_ne!(node[0].input, node[1].input, "two distinct inputs");
                    }
                    for (n, e) in cell.iter().enumerate() {
                        ops.insert(e.op.clone());
                        inputs.insert((n / 2, e.input));
                    }
                }
                paths.insert(g.path.clone());
            }
            let real: std::collections::BTreeSet<String> =
                cfg.ops.iter().filter(|o| *o != "none").cloned().collect();
            assert_eq!(ops, real, "{space}: every op but none is drawn");
            assert_eq!(
                paths.len(),
                valid_paths(&cfg).len(),
                "{space}: every path drawn"
            );
            let pairs: usize = (0..cfg.nodes).map(|j| 2 + j).sum();
            assert_eq!(
                inputs.len(),
                pairs,
                "{space}: every (node, input) pair drawn"
            );
        }
    }

    #[test]
    fn decisions_report_margins_and_the_runner_up_path() {
        let cfg = SpaceCfg::preset("cvpr2020").unwrap();
        let k = cfg.ops.len();
        let e = super::edge_count(cfg.nodes);
        // Edge rows: uniform except a clear winner on every edge; node 0 edge 1 nearly tied.
        let mut alpha = vec![vec![1.0 / k as f32; k]; e];
        for (i, row) in alpha.iter_mut().enumerate() {
            row[i % (k - 1)] += 0.1;
            row[(i + 1) % (k - 1)] -= 0.1;
        }
        alpha[1][2] = alpha[1][1] - 0.0001;
        let flat: Vec<f32> = alpha.iter().flatten().copied().collect();
        let cells = vec![derive_cell(&flat, &cfg.ops, cfg.nodes); cfg.layers];
        let mut betas = vec![[0.1f32, 0.6, 0.3]; crate::nn::supernet::router_rows(&cfg)];
        betas[0] = [0.0, 0.6, 0.4];
        let path = viterbi(&cfg, &betas);
        let g = Genotype {
            space: cfg.clone(),
            cells,
            path: path.clone(),
            alphas: vec![alpha],
            betas,
            epoch: 1,
            val_psnr: 0.0,
            val_ssim: 0.0,
            strategy: "darts".into(),
            arch_order: 1,
        };
        let d = decisions(&g);
        assert_eq!(d.len(), 2 * cfg.nodes + 1);
        let last = d.last().unwrap();
        assert_eq!(last.what, "path");
        assert!(last.margin > 0.0);
        assert_eq!(last.chosen, format!("{path:?}"));
        let tied = d.iter().find(|x| x.what == "edge 1 of node 0").unwrap();
        assert!(!tied.significant(k), "{tied:?}");
        assert!(
            d.iter()
                .filter(|x| x.what != "path")
                .filter(|x| x.significant(k))
                .count()
                >= 6
        );
    }
}
