//! From architecture weights to a discrete network: the DARTS cell rule and Viterbi decoding of
//! the width path (docs/method.md §1-§2), and the genotype file that `search` writes and `train` reads.

use super::cell::{edge_count, Edge};
use super::space::SpaceCfg;
use super::supernet::{router_row, sources};
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
}

impl Genotype {
    pub fn load(path: &std::path::Path) -> anyhow::Result<Genotype> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read genotype {}: {e}", path.display()))?;
        let g: Genotype = serde_json::from_str(&text)
            .map_err(|e| anyhow::anyhow!("malformed genotype {}: {e}", path.display()))?;
        g.validate()
            .map_err(|e| anyhow::anyhow!("invalid genotype {}: {e}", path.display()))?;
        Ok(g)
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
