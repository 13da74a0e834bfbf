//! Inference (`hinas eval`, `hinas denoise`): the trained network run from its exported ONNX
//! graph, simplified for eval mode, on images of any size, with tiled output equal to the
//! whole-image output.
//!
//! **The graph.** `DerivedNet::export` writes the eval-mode network node by node as ONNX (what
//! ONNX Runtime runs); the plan here is built from that same graph, so it follows the network
//! whatever the genotype or decoder, and it is simplified where eval mode allows: repeated
//! activations of one tensor (every edge of a cell applies its own in the graph) are computed
//! once, and each BatchNormalization that follows a Conv or DeformConv whose output nothing else
//! reads is folded into that conv's weights and bias (eval BN is a per-channel affine map, so
//! `BN(W*x + b) = (s W)*x + s (b - mean) + beta` with `s = gamma / sqrt(var + eps)`: equal up
//! to f32 rounding). Any other BN runs as a 1x1 depthwise conv with bias.
//!
//! **Tiles.** One pass holds at most as many pixels as the widest tensor of the graph allows in
//! one storage binding (the device's limit; 128 MiB on lavapipe: 262,144 pixels at the
//! decoder's 128 channels, once its 176-channel concat runs per input, infer/split_concat.rs).
//! Larger images are cut into tiles whose outputs are exact: every op is local,
//! BN in eval mode is per pixel, so an output pixel depends only on the input inside its
//! receptive field, and a tile that holds the field of each of its kept pixels gives exactly the
//! whole-image values there (zero padding happens only at the image's own borders, which tiles
//! keep). Each tile is therefore its kept core plus a margin of the receptive-field radius R on
//! every side inside the image (widened to a span in fours, for the vec4 kernels), and the
//! margin is discarded, not blended. R is the longest path
//! through the graph, summing per op its reach: `max(pad, (k - 1) * dilation - pad)` for a conv
//! (3x3: 1, separable 5x5: 2 per stage, dilated 5x5: 4), and for a deformable conv its taps'
//! reach plus `ceil(D) + 1`, where D bounds the learned offsets |dy|, |dx| (a bilinear sample at
//! distance D reads the pixels at floor and floor + 1).
//!
//! **The offset bound.** Learned offsets have no a-priori bound, so D is measured: every pass
//! records max |offset| of each deformable conv over the whole tile (the one-pass deformable
//! forward max-es it from its own offset loads; elsewhere ops::absmax, one small reduction per
//! deformable conv). If every deformable conv of every tile stays within
//! the D its margin was planned for, every offset that a kept pixel depends on does too (each
//! is inside the tile), so the kept pixels are exact by induction over the layers; if a tile
//! measures more, the image is tiled again with D raised to the measurement. Planning starts
//! from [`START_OFFSET_BOUND`]. Only when even the device's largest tile cannot hold the margin
//! is the margin cut to fit, with a warning that seams may differ from the whole-image result.

use super::infer_graph::{AttrValue, GraphProto, NodeProto};
use crate::data::{FloatImage, HostBatch};
use crate::gpu::{Gpu, Tensor};
use crate::nn::layers::Act;
use crate::onnx::proto::TensorData;
use crate::ops::absmax::absmax_into;
use crate::ops::conv2d::{conv2d_raw_act, Conv2dCfg};
use crate::ops::deform_conv::{deform_conv2d_packed_raw, deform_conv2d_raw, DeformCfg};
use crate::ops::{concat, elementwise as ew};
use std::collections::HashMap;

mod packed_deform;
mod split_concat;

/// The offset bound (pixels) the first tiling of an image assumes; raised when measured larger.
pub const START_OFFSET_BOUND: f32 = 2.0;

enum Op {
    /// Inputs: x. Weight `[Cout, Cin/groups, k, k]`; stride 1, size-preserving padding.
    Conv {
        w: Tensor,
        b: Option<Tensor>,
        cfg: Conv2dCfg,
        k: usize,
        /// An activation fused into the conv's store (LeakyReLU slope; ReLU 0).
        act: Option<f32>,
    },
    /// Inputs: x, offset, mask (optional); or, `packed`, x and the predictor output holding
    /// offsets and mask logits (infer/packed_deform.rs). Records max |offset| in `slot`.
    Deform {
        w: Tensor,
        b: Option<Tensor>,
        cfg: DeformCfg,
        k: usize,
        slot: usize,
        packed: bool,
    },
    Act(Act),
    Add,
    Sub,
    Sigmoid,
    Concat,
    Split(Vec<usize>),
}

struct Step {
    op: Op,
    inputs: Vec<usize>,
    outputs: Vec<usize>,
}

/// A step while the plan is built: convs keep host weights until folding is done.
enum Draft {
    Conv {
        w: (Vec<usize>, Vec<f32>),
        b: Option<Vec<f32>>,
        cfg: Conv2dCfg,
        act: Option<f32>,
    },
    Deform {
        w: (Vec<usize>, Vec<f32>),
        b: Option<Vec<f32>>,
        cfg: DeformCfg,
        packed: bool,
    },
    /// Eval-mode BN as y = x * scale + shift.
    Affine {
        scale: Vec<f32>,
        shift: Vec<f32>,
    },
    Act(Act),
    Add,
    Sub,
    Sigmoid,
    Concat,
    Split(Vec<usize>),
}

/// Live readers of value `v` among the draft steps (emptied steps have no outputs), for the plan
/// passes in infer/.
fn live_readers(drafts: &[DraftStep], v: usize) -> Vec<usize> {
    (0..drafts.len())
        .filter(|&i| !drafts[i].outputs.is_empty() && drafts[i].inputs.contains(&v))
        .collect()
}

struct DraftStep {
    op: Draft,
    inputs: Vec<usize>,
    outputs: Vec<usize>,
}

/// The eval-mode network as a list of GPU ops (see the module docs).
pub struct InferNet {
    gpu: Gpu,
    channels: usize,
    steps: Vec<Step>,
    values: usize,
    input: usize,
    output: usize,
    /// Index of the last step reading each value (`usize::MAX`: the output, never freed).
    last_use: Vec<usize>,
    deform_count: usize,
    /// Pixels one pass may hold (all items of a batch together).
    max_pixels: usize,
    /// Channels of the widest value a pass holds (sets `max_pixels`).
    widest: usize,
    /// Whether the warning about a margin cut to fit was printed.
    warned: std::cell::Cell<bool>,
    /// How the last image of [`Self::denoise`] was cut, for the command's report.
    last_tiles: std::cell::Cell<Option<Tiling>>,
}

/// How an image was cut: `cols` x `rows` tiles with `margin` pixels of receptive field, planned
/// for deformable offsets up to `offset_bound` pixels (measured within it).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tiling {
    pub cols: usize,
    pub rows: usize,
    pub margin: usize,
    pub offset_bound: f32,
}

/// Largest element count whose pooled buffer (2^k or 1.5 * 2^k bytes, gpu/pool.rs) still fits
/// one storage binding.
fn binding_elems(gpu: &Gpu) -> usize {
    let limit = gpu
        .limits()
        .max_storage_buffer_binding_size
        .min(gpu.limits().max_buffer_size)
        .max(1024);
    let mut best = 1u64 << (63 - limit.leading_zeros());
    if best / 2 * 3 <= limit {
        best = best / 2 * 3;
    }
    (best / 4) as usize
}

fn attr<'a>(n: &'a NodeProto, name: &str) -> Option<&'a AttrValue> {
    n.attributes
        .iter()
        .find(|a| a.name == name)
        .map(|a| &a.value)
}

fn attr_int(n: &NodeProto, name: &str, default: i64) -> anyhow::Result<i64> {
    match attr(n, name) {
        None => Ok(default),
        Some(AttrValue::Int(v)) => Ok(*v),
        Some(other) => anyhow::bail!("{}: attribute {name} is {other:?}", n.name),
    }
}

/// A square, symmetric, per-axis-equal ints attribute (`[v, v]` or `[v, v, v, v]`).
fn attr_sym(n: &NodeProto, name: &str, default: i64) -> anyhow::Result<usize> {
    match attr(n, name) {
        None => Ok(default as usize),
        Some(AttrValue::Ints(v)) if !v.is_empty() && v.iter().all(|&x| x == v[0] && x >= 0) => {
            Ok(v[0] as usize)
        }
        Some(other) => anyhow::bail!("{}: unsupported {name} {other:?}", n.name),
    }
}

/// (kernel side, stride, padding, dilation, groups) of a Conv or DeformConv node.
fn conv_geom(n: &NodeProto) -> anyhow::Result<(usize, usize, usize, usize, usize)> {
    let k = attr_sym(n, "kernel_shape", 1)?;
    let s = attr_sym(n, "strides", 1)?;
    let p = attr_sym(n, "pads", 0)?;
    let d = attr_sym(n, "dilations", 1)?;
    let g = attr_int(n, "group", 1)? as usize;
    anyhow::ensure!(
        s == 1 && 2 * p == (k - 1) * d,
        "{}: only size-preserving stride-1 convs are supported",
        n.name
    );
    Ok((k, s, p, d, g))
}

impl InferNet {
    /// Builds the plan from an exported graph (see [`crate::export::onnx_model`]).
    pub fn from_graph(gpu: &Gpu, graph: &GraphProto) -> anyhow::Result<InferNet> {
        let inits: HashMap<&str, (Vec<usize>, &TensorData)> = graph
            .initializers
            .iter()
            .map(|t| {
                (
                    t.name.as_str(),
                    (t.dims.iter().map(|&d| d as usize).collect(), &t.data),
                )
            })
            .collect();
        let f32s = |name: &str| -> anyhow::Result<(Vec<usize>, Vec<f32>)> {
            match inits.get(name) {
                Some((dims, TensorData::F32(v))) => Ok((dims.clone(), v.clone())),
                _ => anyhow::bail!("initializer {name:?} missing or not f32"),
            }
        };
        anyhow::ensure!(
            graph.inputs.len() == 1 && graph.outputs.len() == 1,
            "the graph needs one input and one output"
        );
        let channels = match graph.inputs[0].dims.get(1) {
            Some(crate::onnx::proto::Dim::Value(c)) if *c > 0 => *c as usize,
            _ => anyhow::bail!("the graph's input has no fixed channel count"),
        };
        let mut ids: HashMap<String, usize> = HashMap::new();
        let mut widths = vec![channels];
        ids.insert(graph.inputs[0].name.clone(), 0);
        // Parameter-free nodes with the same op, attributes and inputs compute the same value.
        let mut seen: HashMap<String, Vec<usize>> = HashMap::new();
        let mut drafts: Vec<DraftStep> = Vec::new();
        for n in &graph.nodes {
            let value = |name: &str| -> anyhow::Result<usize> {
                ids.get(name)
                    .copied()
                    .ok_or_else(|| anyhow::anyhow!("{}: input {name:?} is not computed", n.name))
            };
            let (op, inputs, out_widths): (Draft, Vec<usize>, Vec<usize>) = match n.op_type.as_str()
            {
                "Conv" => {
                    let (k, _, p, d, g) = conv_geom(n)?;
                    let w = f32s(&n.inputs[1])?;
                    anyhow::ensure!(w.0.len() == 4 && w.0[2] == k && w.0[3] == k);
                    let b = match n.inputs.get(2).filter(|s| !s.is_empty()) {
                        Some(name) => Some(f32s(name)?.1),
                        None => None,
                    };
                    let cout = w.0[0];
                    let cfg = Conv2dCfg::new(1, p, d, g);
                    (
                        Draft::Conv {
                            w,
                            b,
                            cfg,
                            act: None,
                        },
                        vec![value(&n.inputs[0])?],
                        vec![cout],
                    )
                }
                "DeformConv" => {
                    let (_, _, p, d, g) = conv_geom(n)?;
                    let og = attr_int(n, "offset_group", 1)? as usize;
                    let w = f32s(&n.inputs[1])?;
                    let b = match n.inputs.get(3).filter(|s| !s.is_empty()) {
                        Some(name) => Some(f32s(name)?.1),
                        None => None,
                    };
                    let cout = w.0[0];
                    let mut ins = vec![value(&n.inputs[0])?, value(&n.inputs[2])?];
                    if let Some(m) = n.inputs.get(4).filter(|s| !s.is_empty()) {
                        ins.push(value(m)?);
                    }
                    let cfg = DeformCfg {
                        stride: 1,
                        padding: p,
                        dilation: d,
                        groups: g,
                        offset_groups: og,
                    };
                    (
                        Draft::Deform {
                            w,
                            b,
                            cfg,
                            packed: false,
                        },
                        ins,
                        vec![cout],
                    )
                }
                "BatchNormalization" => {
                    let eps = match attr(n, "epsilon") {
                        Some(AttrValue::Float(e)) => *e as f64,
                        _ => 1e-5,
                    };
                    let [gamma, beta, mean, var] =
                        [1, 2, 3, 4].map(|i| f32s(&n.inputs[i]).map(|t| t.1));
                    let (gamma, beta, mean, var) = (gamma?, beta?, mean?, var?);
                    let scale: Vec<f64> = gamma
                        .iter()
                        .zip(&var)
                        .map(|(&g, &v)| g as f64 / (v as f64 + eps).sqrt())
                        .collect();
                    let shift = beta
                        .iter()
                        .zip(&mean)
                        .zip(&scale)
                        .map(|((&b, &m), &s)| (b as f64 - m as f64 * s) as f32)
                        .collect();
                    let x = value(&n.inputs[0])?;
                    let scale = scale.iter().map(|&s| s as f32).collect();
                    (Draft::Affine { scale, shift }, vec![x], vec![widths[x]])
                }
                "Relu" | "LeakyRelu" => {
                    let act = if n.op_type == "Relu" {
                        Act::Relu
                    } else {
                        match attr(n, "alpha") {
                            Some(AttrValue::Float(a)) => Act::Leaky(*a),
                            _ => Act::Leaky(0.01),
                        }
                    };
                    let x = value(&n.inputs[0])?;
                    (Draft::Act(act), vec![x], vec![widths[x]])
                }
                "Sigmoid" => {
                    let x = value(&n.inputs[0])?;
                    (Draft::Sigmoid, vec![x], vec![widths[x]])
                }
                "Add" | "Sub" => {
                    let a = value(&n.inputs[0])?;
                    let b = value(&n.inputs[1])?;
                    anyhow::ensure!(widths[a] == widths[b], "{}: no broadcasting", n.name);
                    let op = if n.op_type == "Add" {
                        Draft::Add
                    } else {
                        Draft::Sub
                    };
                    (op, vec![a, b], vec![widths[a]])
                }
                "Concat" => {
                    anyhow::ensure!(attr_int(n, "axis", 0)? == 1, "{}: axis", n.name);
                    let ins = n
                        .inputs
                        .iter()
                        .map(|s| value(s))
                        .collect::<anyhow::Result<Vec<_>>>()?;
                    let c = ins.iter().map(|&i| widths[i]).sum();
                    (Draft::Concat, ins, vec![c])
                }
                "Split" => {
                    anyhow::ensure!(attr_int(n, "axis", 0)? == 1, "{}: axis", n.name);
                    let sizes: Vec<usize> = match inits.get(n.inputs[1].as_str()) {
                        Some((_, TensorData::I64(v))) => v.iter().map(|&s| s as usize).collect(),
                        _ => anyhow::bail!("{}: split sizes must be a constant", n.name),
                    };
                    let x = value(&n.inputs[0])?;
                    anyhow::ensure!(
                        sizes.iter().sum::<usize>() == widths[x] && sizes.len() == n.outputs.len(),
                        "{}: split sizes",
                        n.name
                    );
                    (Draft::Split(sizes.clone()), vec![x], sizes)
                }
                other => anyhow::bail!("{}: op {other} is not supported", n.name),
            };
            let pure = !matches!(
                op,
                Draft::Conv { .. } | Draft::Deform { .. } | Draft::Affine { .. }
            );
            let key = format!("{} {:?} {:?}", n.op_type, inputs, n.attributes);
            let outputs = match seen.get(&key).filter(|_| pure) {
                Some(outs) => outs.clone(),
                None => {
                    let outs: Vec<usize> = out_widths
                        .iter()
                        .map(|&c| {
                            widths.push(c);
                            widths.len() - 1
                        })
                        .collect();
                    if pure {
                        seen.insert(key, outs.clone());
                    }
                    drafts.push(DraftStep {
                        op,
                        inputs,
                        outputs: outs.clone(),
                    });
                    outs
                }
            };
            anyhow::ensure!(outputs.len() == n.outputs.len(), "{}: outputs", n.name);
            for (name, id) in n.outputs.iter().zip(outputs) {
                ids.insert(name.clone(), id);
            }
        }
        let output = *ids
            .get(&graph.outputs[0].name)
            .ok_or_else(|| anyhow::anyhow!("the graph's output is never computed"))?;
        Self::finish(gpu, channels, drafts, widths, output)
    }

    /// Folds BN into its conv where the conv's output feeds only that BN, uploads the weights
    /// and computes when each value can be freed.
    fn finish(
        gpu: &Gpu,
        channels: usize,
        mut drafts: Vec<DraftStep>,
        widths: Vec<usize>,
        mut output: usize,
    ) -> anyhow::Result<InferNet> {
        let readers = |drafts: &[DraftStep], output: usize, v: usize| {
            drafts.iter().filter(|d| d.inputs.contains(&v)).count() + (v == output) as usize
        };
        let mut producer: HashMap<usize, usize> = HashMap::new();
        for (i, d) in drafts.iter().enumerate() {
            for &o in &d.outputs {
                producer.insert(o, i);
            }
        }
        let mut rename: HashMap<usize, usize> = HashMap::new();
        for i in 0..drafts.len() {
            let Draft::Affine { .. } = drafts[i].op else {
                continue;
            };
            let x = drafts[i].inputs[0];
            let Some(&pi) = producer.get(&x) else {
                continue;
            };
            if readers(&drafts, output, x) != 1
                || !matches!(drafts[pi].op, Draft::Conv { .. } | Draft::Deform { .. })
            {
                continue;
            }
            let Draft::Affine { scale, shift } = std::mem::replace(&mut drafts[i].op, Draft::Add)
            else {
                unreachable!()
            };
            let (Draft::Conv { w, b, .. } | Draft::Deform { w, b, .. }) = &mut drafts[pi].op else {
                unreachable!()
            };
            let per = w.1.len() / w.0[0];
            for (c, chunk) in w.1.chunks_mut(per).enumerate() {
                for v in chunk {
                    *v *= scale[c];
                }
            }
            let bias: Vec<f32> = (0..w.0[0])
                .map(|c| b.as_ref().map_or(0.0, |b| b[c]) * scale[c] + shift[c])
                .collect();
            *b = Some(bias);
            // The BN's output is now the conv's.
            let y = drafts[i].outputs[0];
            rename.insert(y, x);
            drafts[i].inputs.clear();
            drafts[i].outputs.clear();
        }
        let resolve = |rename: &HashMap<usize, usize>, mut v: usize| {
            while let Some(&r) = rename.get(&v) {
                v = r;
            }
            v
        };
        for d in &mut drafts {
            for v in &mut d.inputs {
                *v = resolve(&rename, *v);
            }
        }
        output = resolve(&rename, output);
        // An activation whose input is a conv output read by nothing else runs in the conv's
        // store.
        for i in 0..drafts.len() {
            let Draft::Act(a) = drafts[i].op else {
                continue;
            };
            let x = drafts[i].inputs[0];
            let Some(&pi) = producer.get(&x) else {
                continue;
            };
            let fusable = matches!(drafts[pi].op, Draft::Conv { act: None, .. });
            if !fusable || readers(&drafts, output, x) != 1 {
                continue;
            }
            if let Draft::Conv { act, .. } = &mut drafts[pi].op {
                *act = Some(match a {
                    Act::Relu => 0.0,
                    Act::Leaky(s) => s,
                });
            }
            rename.insert(drafts[i].outputs[0], x);
            drafts[i].inputs.clear();
            drafts[i].outputs.clear();
        }
        output = resolve(&rename, output);
        for d in &mut drafts {
            for v in &mut d.inputs {
                *v = resolve(&rename, *v);
            }
        }
        let mut widths = widths;
        split_concat::split_concat(&mut drafts, &mut widths, output);
        packed_deform::pack_deform_inputs(&mut drafts, output);
        let values = widths.len();
        let mut deform_count = 0;
        let mut steps = Vec::new();
        for d in drafts {
            if d.outputs.is_empty() {
                continue;
            }
            let up = |shape: &[usize], data: &[f32]| Tensor::from_slice(gpu, shape, data);
            let op = match d.op {
                Draft::Conv { w, b, cfg, act } => Op::Conv {
                    act,
                    k: w.0[2],
                    b: b.map(|b| up(&[w.0[0]], &b)),
                    w: up(&w.0, &w.1),
                    cfg,
                },
                Draft::Deform { w, b, cfg, packed } => {
                    deform_count += 1;
                    Op::Deform {
                        packed,
                        k: w.0[2],
                        b: b.map(|b| up(&[w.0[0]], &b)),
                        w: up(&w.0, &w.1),
                        cfg,
                        slot: deform_count - 1,
                    }
                }
                Draft::Affine { scale, shift } => {
                    // A BN that could not be folded: a 1x1 depthwise conv with bias.
                    let c = scale.len();
                    Op::Conv {
                        k: 1,
                        w: up(&[c, 1, 1, 1], &scale),
                        b: Some(up(&[c], &shift)),
                        cfg: Conv2dCfg::new(1, 0, 1, c),
                        act: None,
                    }
                }
                Draft::Act(a) => Op::Act(a),
                Draft::Add => Op::Add,
                Draft::Sub => Op::Sub,
                Draft::Sigmoid => Op::Sigmoid,
                Draft::Concat => Op::Concat,
                Draft::Split(s) => Op::Split(s),
            };
            steps.push(Step {
                op,
                inputs: d.inputs.into_iter().map(|v| resolve(&rename, v)).collect(),
                outputs: d.outputs,
            });
        }
        let mut last_use = vec![0usize; values];
        for (i, s) in steps.iter().enumerate() {
            for &v in &s.inputs {
                last_use[v] = i;
            }
        }
        last_use[output] = usize::MAX;
        // The widest value a pass holds (values of emptied steps are never computed).
        let widest = steps
            .iter()
            .flat_map(|s| &s.outputs)
            .chain([&0])
            .map(|&v| widths[v])
            .max()
            .unwrap_or(1)
            .max(1);
        Ok(InferNet {
            gpu: gpu.clone(),
            channels,
            steps,
            values,
            input: 0,
            output,
            last_use,
            deform_count,
            max_pixels: (binding_elems(gpu) / widest).max(1),
            widest,
            warned: Default::default(),
            last_tiles: Default::default(),
        })
    }

    /// The plan of a loaded model.
    pub fn from_model(model: &crate::train::model::Model) -> anyhow::Result<InferNet> {
        let proto = crate::export::onnx_model(model);
        Self::from_graph(&model.gpu, &super::infer_graph::read(&proto)?)
    }

    pub fn channels(&self) -> usize {
        self.channels
    }

    /// GPU ops of one pass (for reports).
    pub fn step_count(&self) -> usize {
        self.steps.len()
    }

    /// How the last image given to [`Self::denoise`] was cut (`None`: whole).
    pub fn last_tiling(&self) -> Option<Tiling> {
        self.last_tiles.get()
    }

    /// Deformable convs that take their predictor's output whole (infer/packed_deform.rs).
    pub fn packed_deforms(&self) -> usize {
        let packed = |s: &&Step| matches!(s.op, Op::Deform { packed: true, .. });
        self.steps.iter().filter(packed).count()
    }

    /// Channels of the widest value a pass holds.
    pub fn widest_channels(&self) -> usize {
        self.widest
    }

    /// Pixels one pass may hold.
    pub fn max_pixels(&self) -> usize {
        self.max_pixels
    }

    /// Caps one pass at `side` x `side` pixels (`hinas denoise --tile`; tests use it to force
    /// several tiles on a small image). Never above what the device allows.
    pub fn limit_tile(&mut self, side: usize) {
        self.max_pixels = self.max_pixels.min((side * side).max(1));
    }

    /// The receptive-field radius in pixels when every deformable offset is at most `d` pixels.
    pub fn radius(&self, d: f32) -> usize {
        let extra = d.max(0.0).ceil() as usize + 1;
        let mut r = vec![0usize; self.values];
        for s in &self.steps {
            let inr = |i: usize| r[s.inputs[i]];
            let out = match &s.op {
                Op::Conv { k, cfg, .. } => {
                    inr(0) + cfg.padding.max((k - 1) * cfg.dilation - cfg.padding)
                }
                Op::Deform { k, cfg, .. } => {
                    let taps = cfg.padding.max((k - 1) * cfg.dilation - cfg.padding);
                    let rest = (1..s.inputs.len()).map(inr).max().unwrap_or(0);
                    (inr(0) + taps + extra).max(rest)
                }
                _ => (0..s.inputs.len()).map(inr).max().unwrap_or(0),
            };
            for &o in &s.outputs {
                r[o] = out;
            }
        }
        r[self.output]
    }

    /// One pass over a batch that fits ([`Self::max_pixels`]); returns the output and, per
    /// deformable conv, max |offset| over the batch.
    fn pass(&self, x: Tensor) -> (Tensor, Vec<f32>) {
        let gpu = &self.gpu;
        let stats = Tensor::zeros(gpu, &[self.deform_count.max(1)]);
        let mut vals: Vec<Option<Tensor>> = vec![None; self.values];
        vals[self.input] = Some(x);
        for (i, s) in self.steps.iter().enumerate() {
            let v = |j: usize| vals[s.inputs[j]].as_ref().expect("value computed");
            let outs: Vec<Tensor> = match &s.op {
                Op::Conv { w, b, cfg, act, .. } => {
                    vec![conv2d_raw_act(v(0), w, b.as_ref(), *cfg, *act)]
                }
                Op::Deform {
                    w,
                    b,
                    cfg,
                    slot,
                    packed: false,
                    ..
                } => {
                    let mask = (s.inputs.len() > 2).then(|| v(2));
                    let y = deform_conv2d_raw(v(0), v(1), mask, w, b.as_ref(), *cfg);
                    absmax_into(v(1), &stats, *slot);
                    vec![y]
                }
                Op::Deform {
                    w,
                    b,
                    cfg,
                    slot,
                    packed: true,
                    ..
                } => {
                    let offset_max = Some((&stats, *slot));
                    vec![deform_conv2d_packed_raw(
                        v(0),
                        v(1),
                        w,
                        b.as_ref(),
                        *cfg,
                        offset_max,
                    )]
                }
                Op::Act(Act::Relu) => vec![ew::leaky_relu_raw(v(0), 0.0)],
                Op::Act(Act::Leaky(a)) => vec![ew::leaky_relu_raw(v(0), *a)],
                Op::Add => vec![ew::add_raw(v(0), v(1))],
                Op::Sub => vec![ew::sub_raw(v(0), v(1))],
                Op::Sigmoid => vec![ew::sigmoid_raw(v(0))],
                Op::Concat => {
                    let xs: Vec<&Tensor> = (0..s.inputs.len()).map(v).collect();
                    vec![concat::concat_raw(&xs)]
                }
                Op::Split(sizes) => concat::split_raw(v(0), sizes),
            };
            for (o, t) in s.outputs.iter().zip(outs) {
                vals[*o] = Some(t);
            }
            for &inp in &s.inputs {
                if self.last_use[inp] == i {
                    vals[inp] = None;
                }
            }
        }
        let y = vals[self.output].take().expect("output computed");
        let offs = if self.deform_count == 0 {
            Vec::new()
        } else {
            stats.to_vec()
        };
        (y, offs)
    }

    /// One forward pass of a batch (items of one size) that fits one pass.
    fn run_fitting(&self, batch: &HostBatch) -> HostBatch {
        let (y, _) = self.pass(batch.upload(&self.gpu));
        HostBatch::new(batch.shape, y.to_vec())
    }

    fn check_channels(&self, c: usize) -> anyhow::Result<()> {
        anyhow::ensure!(
            c == self.channels,
            "the model takes {}-channel images, got {c}",
            self.channels
        );
        Ok(())
    }

    /// Any batch: items that fit are run several per pass, larger ones in exact tiles.
    pub fn run_any(&self, batch: &HostBatch) -> anyhow::Result<HostBatch> {
        let [n, c, h, w] = batch.shape;
        self.check_channels(c)?;
        if h * w > self.max_pixels {
            let mut data = Vec::with_capacity(batch.data.len());
            for i in 0..n {
                data.extend(self.denoise(&batch.item(i))?.data);
            }
            return Ok(HostBatch::new(batch.shape, data));
        }
        let per = (self.max_pixels / (h * w)).clamp(1, n.max(1));
        let item = c * h * w;
        let mut data = Vec::with_capacity(batch.data.len());
        for start in (0..n).step_by(per) {
            let k = per.min(n - start);
            let sub = HostBatch::new(
                [k, c, h, w],
                batch.data[start * item..(start + k) * item].to_vec(),
            );
            data.extend(self.run_fitting(&sub).data);
        }
        Ok(HostBatch::new(batch.shape, data))
    }

    /// Denoises one image of any size: whole if it fits one pass, else in exact tiles (module
    /// docs).
    pub fn denoise(&self, img: &FloatImage) -> anyhow::Result<FloatImage> {
        self.denoise_observed(img, &mut |_| {})
    }

    /// [`Self::denoise`], calling `on_tile` after each tile (once for an image that fits one
    /// pass) so a long image can show progress.
    pub fn denoise_observed(
        &self,
        img: &FloatImage,
        on_tile: &mut dyn FnMut(TileDone),
    ) -> anyhow::Result<FloatImage> {
        let (w, h, c) = (img.width, img.height, img.channels);
        self.check_channels(c)?;
        self.last_tiles.set(None);
        if w * h <= self.max_pixels {
            let out = self.run_fitting(&HostBatch::from_image(img)).item(0);
            on_tile(TileDone {
                index: 0,
                count: 1,
                pixels: w * h,
            });
            return Ok(out);
        }
        let mut bound = START_OFFSET_BOUND;
        loop {
            let mut r = self.radius(bound);
            let plan = loop {
                if let Some(p) = plan_tiles(w, h, r, self.max_pixels) {
                    break p;
                }
                r -= 1;
            };
            if r < self.radius(bound) && !self.warned.replace(true) {
                eprintln!(
                    "warning: tiles of {} pixels cannot hold the network's receptive field ({} px \
                     with offsets up to {bound} px); tile seams may differ slightly from a \
                     whole-image pass",
                    self.max_pixels,
                    self.radius(bound)
                );
            }
            match self.run_tiles(img, &plan, bound, on_tile)? {
                Ok(out) => {
                    self.last_tiles.set(Some(Tiling {
                        cols: plan.xs.len(),
                        rows: plan.ys.len(),
                        margin: r,
                        offset_bound: bound,
                    }));
                    return Ok(out);
                }
                Err(measured) => bound = measured.ceil().max(bound + 1.0),
            }
        }
    }

    /// Tiles with a margin of `margin` pixels whatever the receptive field, at most
    /// [`Self::max_pixels`] each (tests show that a margin below the field changes the output).
    #[doc(hidden)]
    pub fn denoise_with_margin(
        &self,
        img: &FloatImage,
        margin: usize,
    ) -> anyhow::Result<FloatImage> {
        let plan = plan_tiles(img.width, img.height, margin, self.max_pixels)
            .ok_or_else(|| anyhow::anyhow!("no tiling with a {margin}-pixel margin fits"))?;
        Ok(self
            .run_tiles(img, &plan, f32::INFINITY, &mut |_| {})?
            .expect("no offset bound to exceed"))
    }

    /// Runs every tile; `Err(max offset)` when a tile's offsets exceed `bound` (the caller then
    /// starts again with larger margins, and `on_tile` counts from index 0 again).
    fn run_tiles(
        &self,
        img: &FloatImage,
        plan: &TilePlan,
        bound: f32,
        on_tile: &mut dyn FnMut(TileDone),
    ) -> anyhow::Result<Result<FloatImage, f32>> {
        let (w, h, c) = (img.width, img.height, img.channels);
        let mut out = vec![0.0f32; w * h * c];
        let count = plan.xs.len() * plan.ys.len();
        let mut index = 0;
        for ty in &plan.ys {
            for tx in &plan.xs {
                let (tw, th) = (tx.t1 - tx.t0, ty.t1 - ty.t0);
                let mut t = Vec::with_capacity(c * tw * th);
                for ch in 0..c {
                    for r in ty.t0..ty.t1 {
                        let row = (ch * h + r) * w;
                        t.extend_from_slice(&img.data[row + tx.t0..row + tx.t1]);
                    }
                }
                let x = Tensor::from_slice(&self.gpu, &[1, c, th, tw], &t);
                let (y, offs) = self.pass(x);
                let y = y.to_vec();
                let worst = offs.iter().copied().fold(0.0f32, f32::max);
                if worst > bound || worst.is_nan() {
                    if worst.is_nan() {
                        anyhow::bail!("the network's deformable offsets are not finite");
                    }
                    return Ok(Err(worst));
                }
                for ch in 0..c {
                    for r in ty.c0..ty.c1 {
                        let src = (ch * th + r - ty.t0) * tw;
                        let dst = (ch * h + r) * w;
                        out[dst + tx.c0..dst + tx.c1]
                            .copy_from_slice(&y[src + tx.c0 - tx.t0..src + tx.c1 - tx.t0]);
                    }
                }
                on_tile(TileDone {
                    index,
                    count,
                    pixels: (tx.c1 - tx.c0) * (ty.c1 - ty.c0),
                });
                index += 1;
            }
        }
        Ok(Ok(FloatImage::new(w, h, c, out)))
    }
}

/// A finished tile of [`InferNet::denoise_observed`]: `index` of `count`, covering `pixels` of
/// the output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TileDone {
    pub index: usize,
    pub count: usize,
    pub pixels: usize,
}

/// One axis of a tile: the kept core [c0, c1) inside the computed span [t0, t1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub c0: usize,
    pub c1: usize,
    pub t0: usize,
    pub t1: usize,
}

#[derive(Clone, Debug)]
pub struct TilePlan {
    pub xs: Vec<Span>,
    pub ys: Vec<Span>,
}

/// Cuts an axis of `len` pixels into `n` cores with a margin of `r` on each side inside the
/// axis, each computed span then widened to a multiple of 4 where the axis allows: the one-pass
/// deformable forward needs a tile's pixel count in fours (ops/deform_conv/direct.rs), and a
/// wider margin keeps the kept pixels exact.
fn axis(len: usize, n: usize, r: usize) -> Vec<Span> {
    (0..n)
        .map(|i| {
            let (c0, c1) = (i * len / n, (i + 1) * len / n);
            let (mut t0, mut t1) = (c0.saturating_sub(r), (c1 + r).min(len));
            let short = (t1 - t0).next_multiple_of(4) - (t1 - t0);
            if t1 - t0 + short <= len {
                let right = short.min(len - t1);
                t1 += right;
                t0 -= short - right;
            }
            Span { c0, c1, t0, t1 }
        })
        .collect()
}

/// The grid of tiles with margin `r` that computes the fewest pixels with no tile over
/// `max_pixels`; `None` if no grid fits.
pub fn plan_tiles(w: usize, h: usize, r: usize, max_pixels: usize) -> Option<TilePlan> {
    let widest = |s: &[Span]| s.iter().map(|t| t.t1 - t.t0).max().unwrap_or(0);
    let total = |s: &[Span]| s.iter().map(|t| t.t1 - t.t0).sum::<usize>();
    let mut best: Option<(usize, usize, TilePlan)> = None;
    for nx in 1..=w {
        let xs = axis(w, nx, r);
        let tw = widest(&xs);
        let max_h = max_pixels / tw;
        if max_h == 0 {
            continue;
        }
        // The fewest rows whose tiles are short enough (taller tiles waste less margin): one or
        // two rows, or about h / (max_h - 2r) when interior tiles carry both margins.
        let guess = match max_h.checked_sub(2 * r) {
            Some(core) if core > 0 => h.div_ceil(core).max(1),
            _ => 1,
        };
        let mut tries: Vec<usize> = vec![1, 2];
        tries.extend(guess.saturating_sub(1).max(3)..guess + 3);
        let Some(ny) = tries
            .into_iter()
            .filter(|&ny| ny <= h)
            .find(|&ny| widest(&axis(h, ny, r)) <= max_h)
        else {
            continue;
        };
        let ys = axis(h, ny, r);
        let cost = total(&xs) * total(&ys);
        let count = nx * ny;
        if best
            .as_ref()
            .is_none_or(|(c, k, _)| cost < *c || (cost == *c && count < *k))
        {
            best = Some((cost, count, TilePlan { xs, ys }));
        }
        // Once the columns alone are narrower than the margins, more columns only add margin.
        if w / nx < r {
            break;
        }
    }
    best.map(|(_, _, p)| p)
}
