//! Building an [`InferNet`] from the exported graph: each ONNX node becomes a draft step, the
//! eval-mode simplifications (shared activations, BN folded into its conv, the activated concats
//! of infer/concat_act.rs, the split concat of infer/split_concat.rs, the packed deformable
//! inputs of infer/packed_deform.rs, the predictors of infer/band_predictor.rs, the fused Adds of
//! infer/deform_add.rs) rewrite the drafts, and `finish` uploads the weights and works out when
//! each value can be freed.

use super::{InferNet, Op, Step};
use crate::eval::infer_graph::{AttrValue, GraphProto, NodeProto};
use crate::gpu::{Gpu, Tensor};
use crate::nn::layers::Act;
use crate::onnx::proto::TensorData;
use crate::ops::conv2d::Conv2dCfg;
use crate::ops::deform_conv::DeformCfg;
use std::collections::HashMap;

/// A step while the plan is built: convs keep host weights until folding is done.
pub(super) enum Draft {
    Conv {
        w: (Vec<usize>, Vec<f32>),
        b: Option<Vec<f32>>,
        cfg: Conv2dCfg,
        act: Option<f32>,
        /// The step's second input is added before the activation (infer/split_concat.rs).
        add: bool,
    },
    Deform {
        w: (Vec<usize>, Vec<f32>),
        b: Option<Vec<f32>>,
        cfg: DeformCfg,
        packed: bool,
        /// With `packed`: the predictor conv, computed by this step from x in row bands where
        /// its output would not fit one binding (infer/band_predictor.rs).
        pred: Option<PredDraft>,
        /// The last input is added in the store (infer/deform_add.rs).
        add: bool,
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
    /// With `act`, LeakyReLU of that slope (ReLU: 0) applied by the copies
    /// (infer/concat_act.rs).
    Concat {
        act: Option<f32>,
    },
    Split(Vec<usize>),
}

/// A deformable conv's offset predictor taken into its step (infer/band_predictor.rs).
pub(super) struct PredDraft {
    pub(super) w: (Vec<usize>, Vec<f32>),
    pub(super) b: Option<Vec<f32>>,
    pub(super) cfg: Conv2dCfg,
}

/// The value `v` was last renamed to (folded BN and dropped activations leave their input).
fn resolve(rename: &HashMap<usize, usize>, mut v: usize) -> usize {
    while let Some(&r) = rename.get(&v) {
        v = r;
    }
    v
}

/// Points every step's inputs, and the graph's output, at the values they were renamed to.
fn apply_renames(drafts: &mut [DraftStep], rename: &HashMap<usize, usize>, output: &mut usize) {
    *output = resolve(rename, *output);
    for d in drafts {
        for v in &mut d.inputs {
            *v = resolve(rename, *v);
        }
    }
}

/// The live draft step that computes value `v`, if any (the network's input has none).
pub(super) fn producer(drafts: &[DraftStep], v: usize) -> Option<usize> {
    drafts.iter().position(|d| d.outputs.contains(&v))
}

/// Live readers of value `v` among the draft steps (emptied steps have no outputs), for the plan
/// passes in infer/.
pub(super) fn live_readers(drafts: &[DraftStep], v: usize) -> Vec<usize> {
    (0..drafts.len())
        .filter(|&i| !drafts[i].outputs.is_empty() && drafts[i].inputs.contains(&v))
        .collect()
}

pub(super) struct DraftStep {
    pub(super) op: Draft,
    pub(super) inputs: Vec<usize>,
    pub(super) outputs: Vec<usize>,
}

/// Largest element count whose pooled buffer (2^k or 1.5 * 2^k bytes, gpu/pool.rs) still fits
/// one storage binding.
pub(super) fn binding_elems(gpu: &Gpu) -> usize {
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
                            add: false,
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
                            pred: None,
                            add: false,
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
                    (Draft::Concat { act: None }, ins, vec![c])
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
                || !matches!(
                    drafts[pi].op,
                    Draft::Conv { add: false, .. } | Draft::Deform { add: false, .. }
                )
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
        apply_renames(&mut drafts, &rename, &mut output);
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
                *act = Some(a.slope());
            }
            rename.insert(drafts[i].outputs[0], x);
            drafts[i].inputs.clear();
            drafts[i].outputs.clear();
        }
        apply_renames(&mut drafts, &rename, &mut output);
        // An activation of a conv output that the conv's store already passed through ReLU is
        // the identity (ReLU and LeakyReLU leave values >= 0 as they are, -0.0 included): the
        // stem's ReLU followed by a cell's input ReLU. Its readers read the conv output.
        for i in 0..drafts.len() {
            let (Draft::Act(_), Some(&x)) = (&drafts[i].op, drafts[i].inputs.first()) else {
                continue;
            };
            let relu_conv = producer.get(&x).is_some_and(
                |&pi| matches!(drafts[pi].op, Draft::Conv { act: Some(s), .. } if s == 0.0),
            );
            if !relu_conv {
                continue;
            }
            rename.insert(drafts[i].outputs[0], x);
            drafts[i].inputs.clear();
            drafts[i].outputs.clear();
        }
        apply_renames(&mut drafts, &rename, &mut output);
        let mut widths = widths;
        super::concat_act::fuse_concat_act(&mut drafts, output);
        super::split_concat::split_concat(&mut drafts, &mut widths, output);
        super::packed_deform::pack_deform_inputs(&mut drafts, output);
        let banded = if crate::ops::subgroup_kernels(gpu) {
            super::band_predictor::band_predictors(&mut drafts, output)
        } else {
            0
        };
        super::deform_add::fuse_deform_add(&mut drafts, output);
        let values = widths.len();
        let mut deform_count = 0;
        let mut steps = Vec::new();
        for d in drafts {
            if d.outputs.is_empty() {
                continue;
            }
            let up = |shape: &[usize], data: &[f32]| Tensor::from_slice(gpu, shape, data);
            let op = match d.op {
                Draft::Conv {
                    w,
                    b,
                    cfg,
                    act,
                    add,
                } => Op::Conv {
                    act,
                    add,
                    k: w.0[2],
                    b: b.map(|b| up(&[w.0[0]], &b)),
                    w: up(&w.0, &w.1),
                    cfg,
                },
                Draft::Deform {
                    w,
                    b,
                    cfg,
                    packed,
                    pred,
                    add,
                } => {
                    deform_count += 1;
                    Op::Deform {
                        packed,
                        add,
                        pred: pred.map(|p| super::Pred {
                            k: p.w.0[2],
                            b: p.b.map(|b| up(&[p.w.0[0]], &b)),
                            w: up(&p.w.0, &p.w.1),
                            cfg: p.cfg,
                        }),
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
                        add: false,
                    }
                }
                Draft::Act(a) => Op::Act(a),
                Draft::Add => Op::Add,
                Draft::Sub => Op::Sub,
                Draft::Sigmoid => Op::Sigmoid,
                Draft::Concat { act } => Op::Concat { act },
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
        let split = super::stages::choose(&steps, &widths, 0, output, binding_elems(gpu));
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
            split,
            band_rows: None,
            unbanded_pixels: binding_elems(gpu).checked_div(banded).unwrap_or(usize::MAX),
        })
    }
}
