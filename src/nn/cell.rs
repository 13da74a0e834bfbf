//! The inner cell (docs/method.md §1): inputs prev-prev (state 0) and prev (state 1), B intermediate
//! nodes, each the sum over all earlier states of an edge; output = concat of the B nodes.
//!
//! In the supernet every edge is a MixedOp (softmax(alpha)-weighted sum of all candidates); the
//! whole node (all its edges and all their candidates) is ONE weighted-sum kernel. In a derived
//! network each node keeps two edges with one op each.

use super::candidates::{Candidate, OpKind};
use super::layers::{Act, Mode};
use super::params::{Bound, ParamStore};
use crate::onnx::graph::OnnxGraph;
use crate::onnx::proto::Attribute;
use crate::ops::{concat, mixed};
use crate::tape::{Tape, Var};
use rand::Rng;

/// Number of edges of a cell with `nodes` intermediate nodes and 2 inputs.
pub fn edge_count(nodes: usize) -> usize {
    (0..nodes).map(|j| 2 + j).sum()
}

pub struct SearchCell {
    nodes: usize,
    ops: Vec<OpKind>,
    /// edges[e][k]: candidate k on edge e; edges are ordered node by node, source by source.
    edges: Vec<Vec<Candidate>>,
}

impl SearchCell {
    pub fn new(
        s: &mut ParamStore,
        rng: &mut impl Rng,
        name: &str,
        c: usize,
        nodes: usize,
        ops: &[OpKind],
    ) -> Self {
        let edges = (0..edge_count(nodes))
            .map(|e| {
                ops.iter()
                    .map(|&k| {
                        Candidate::new(k, s, rng, &format!("{name}.e{e}.{}", k.name()), c, false)
                    })
                    .collect()
            })
            .collect();
        SearchCell {
            nodes,
            ops: ops.to_vec(),
            edges,
        }
    }

    /// `alpha` is the softmaxed architecture tensor; this cell reads rows starting at `row0`
    /// (one row of `ops.len()` weights per edge).
    #[allow(clippy::too_many_arguments)]
    pub fn forward(
        &self,
        t: &mut Tape,
        p: &Bound,
        s0: &Var,
        s1: &Var,
        alpha: &Var,
        row0: usize,
        act: Act,
        mode: Mode,
    ) -> Var {
        let k = self.ops.len();
        let mut states = vec![s0.clone(), s1.clone()];
        let mut acted = vec![None, None];
        let mut e = 0;
        for j in 0..self.nodes {
            let mut xs = Vec::new();
            let mut idx = Vec::new();
            for i in 0..2 + j {
                for (o, cand) in self.edges[e].iter().enumerate() {
                    if let Some(y) = cand.forward(t, p, &states[i], &mut acted[i], act, mode) {
                        xs.push(y);
                        idx.push((row0 + e) * k + o);
                    }
                }
                e += 1;
            }
            let refs: Vec<&Var> = xs.iter().collect();
            let node = mixed::weighted_sum(t, &refs, alpha, &idx);
            states.push(node);
            acted.push(None);
        }
        let outs: Vec<&Var> = states[2..].iter().collect();
        concat::concat(t, &outs)
    }
}

/// One chosen edge of a derived cell: the op and its input state (0 prev-prev, 1 prev, 2+j node j).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Edge {
    pub op: String,
    pub input: usize,
}

pub struct DerivedCell {
    /// Per node, its edges with their ops.
    nodes: Vec<Vec<(usize, Candidate)>>,
}

impl DerivedCell {
    /// `edges` lists 2 edges per node, node by node.
    pub fn new(
        s: &mut ParamStore,
        rng: &mut impl Rng,
        name: &str,
        c: usize,
        edges: &[Edge],
    ) -> anyhow::Result<Self> {
        anyhow::ensure!(
            edges.len().is_multiple_of(2) && !edges.is_empty(),
            "a cell needs 2 edges per node, got {}",
            edges.len()
        );
        let mut nodes = Vec::new();
        for (j, pair) in edges.chunks(2).enumerate() {
            let mut node = Vec::new();
            for (i, e) in pair.iter().enumerate() {
                let kind = OpKind::from_name(&e.op)?;
                anyhow::ensure!(kind != OpKind::Zero, "node {j} uses the 'none' op");
                anyhow::ensure!(
                    e.input < 2 + j,
                    "node {j} reads state {} which does not exist yet",
                    e.input
                );
                node.push((
                    e.input,
                    Candidate::new(kind, s, rng, &format!("{name}.n{j}.{i}.{}", e.op), c, true),
                ));
            }
            nodes.push(node);
        }
        Ok(DerivedCell { nodes })
    }

    pub fn forward(
        &self,
        t: &mut Tape,
        p: &Bound,
        s0: &Var,
        s1: &Var,
        act: Act,
        mode: Mode,
    ) -> Var {
        let mut states = vec![s0.clone(), s1.clone()];
        let mut acted = vec![None, None];
        for node in &self.nodes {
            let ys: Vec<Var> = node
                .iter()
                .map(|(input, cand)| {
                    cand.forward(t, p, &states[*input], &mut acted[*input], act, mode)
                        .expect("no zero op in a derived cell")
                })
                .collect();
            let sum = crate::ops::elementwise::add(t, &ys[0], &ys[1]);
            states.push(sum);
            acted.push(None);
        }
        let outs: Vec<&Var> = states[2..].iter().collect();
        concat::concat(t, &outs)
    }

    pub fn export(&self, g: &mut OnnxGraph, s0: &str, s1: &str, act: Act) -> String {
        let mut states = vec![s0.to_string(), s1.to_string()];
        for node in &self.nodes {
            let ys: Vec<String> = node
                .iter()
                .map(|(input, cand)| {
                    cand.export(g, &states[*input], act)
                        .expect("no zero op in a derived cell")
                })
                .collect();
            let sum = g.node("Add", &[&ys[0], &ys[1]], vec![]);
            states.push(sum);
        }
        let outs: Vec<&str> = states[2..].iter().map(String::as_str).collect();
        g.node("Concat", &outs, vec![Attribute::int("axis", 1)])
    }
}
