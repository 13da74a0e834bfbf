//! Layers: parameter-owning wrappers around ops, built on a [`ParamStore`].

use super::params::{conv_init, Bound, Group, ParamId, ParamStore};
use crate::onnx::graph::{conv_attrs, OnnxGraph};
use crate::onnx::proto::{Attribute, TensorData};
use crate::ops::batchnorm::EPS;
use crate::ops::batchnorm::{batch_norm, batch_norm_act, BnRunning};
use crate::ops::conv2d::{conv2d, Conv2dCfg};
use crate::ops::deform_conv::{deform_conv2d_packed, DeformCfg};
use crate::ops::elementwise as ew;
use crate::tape::{Tape, Var};
use rand::Rng;

/// The non-linearity of a preset: ReLU (CVPR 2020) or LeakyReLU(0.2) (IJCV 2022 / official code).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Act {
    Relu,
    Leaky(f32),
}

impl Act {
    /// The LeakyReLU slope the fused kernels take (ReLU: 0).
    pub fn slope(self) -> f32 {
        match self {
            Act::Relu => 0.0,
            Act::Leaky(s) => s,
        }
    }

    pub fn apply(self, t: &mut Tape, x: &Var) -> Var {
        match self {
            Act::Relu => ew::relu(t, x),
            Act::Leaky(s) => ew::leaky_relu(t, x, s),
        }
    }

    pub fn export(self, g: &mut OnnxGraph, x: &str) -> String {
        match self {
            Act::Relu => g.node("Relu", &[x], vec![]),
            Act::Leaky(s) => g.node("LeakyRelu", &[x], vec![Attribute::float("alpha", s)]),
        }
    }
}

/// Whether layers run in training mode (batch statistics) or evaluation mode (running ones).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Train,
    Eval,
}

pub struct Conv {
    pub w: ParamId,
    pub b: Option<ParamId>,
    pub cfg: Conv2dCfg,
}

impl Conv {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        s: &mut ParamStore,
        rng: &mut impl Rng,
        name: &str,
        cin: usize,
        cout: usize,
        k: usize,
        cfg: Conv2dCfg,
        bias: bool,
    ) -> Conv {
        let fan_in = cin / cfg.groups * k * k;
        let n = cout * fan_in;
        let w = s.add(
            format!("{name}.weight"),
            &[cout, cin / cfg.groups, k, k],
            &conv_init(rng, n, fan_in),
            Group::Weight,
        );
        let b = bias.then(|| {
            s.add(
                format!("{name}.bias"),
                &[cout],
                &conv_init(rng, cout, fan_in),
                Group::Weight,
            )
        });
        Conv { w, b, cfg }
    }

    /// A conv whose weights start at zero (the offset predictor of a deformable conv).
    pub fn zeros(
        s: &mut ParamStore,
        name: &str,
        cin: usize,
        cout: usize,
        k: usize,
        cfg: Conv2dCfg,
    ) -> Conv {
        let n = cout * cin / cfg.groups * k * k;
        let w = s.add(
            format!("{name}.weight"),
            &[cout, cin / cfg.groups, k, k],
            &vec![0.0; n],
            Group::Weight,
        );
        let b = Some(s.add(
            format!("{name}.bias"),
            &[cout],
            &vec![0.0; cout],
            Group::Weight,
        ));
        Conv { w, b, cfg }
    }

    pub fn forward(&self, t: &mut Tape, p: &Bound, x: &Var) -> Var {
        conv2d(t, x, p.var(self.w), self.b.map(|b| p.var(b)), self.cfg)
    }

    pub fn export(&self, g: &mut OnnxGraph, x: &str) -> String {
        let k = g.param_shape(self.w)[2];
        let w = g.param(self.w);
        let b = self.b.map(|b| g.param(b));
        let mut inputs = vec![x, &w];
        inputs.extend(b.as_deref());
        let c = self.cfg;
        let attrs = conv_attrs(k, c.stride, c.padding, c.dilation, c.groups);
        g.node("Conv", &inputs, attrs)
    }
}

pub struct BatchNorm {
    pub affine: Option<(ParamId, ParamId)>,
    pub running: BnRunning,
    /// The running mean and variance in the store (the tensors `running` shares).
    pub stats: (ParamId, ParamId),
}

impl BatchNorm {
    pub fn new(s: &mut ParamStore, name: &str, c: usize, affine: bool) -> BatchNorm {
        let affine = affine.then(|| {
            (
                s.add(format!("{name}.gamma"), &[c], &vec![1.0; c], Group::Weight),
                s.add(
                    format!("{name}.beta_bn"),
                    &[c],
                    &vec![0.0; c],
                    Group::Weight,
                ),
            )
        });
        let mean = s.add(
            format!("{name}.running_mean"),
            &[c],
            &vec![0.0; c],
            Group::Buffer,
        );
        let var = s.add(
            format!("{name}.running_var"),
            &[c],
            &vec![1.0; c],
            Group::Buffer,
        );
        let running = BnRunning {
            mean: s.get(mean).clone(),
            var: s.get(var).clone(),
        };
        BatchNorm {
            affine,
            running,
            stats: (mean, var),
        }
    }

    pub fn forward(&self, t: &mut Tape, p: &Bound, x: &Var, mode: Mode) -> Var {
        let affine = self.affine.map(|(g, b)| (p.var(g), p.var(b)));
        batch_norm(t, x, affine, &self.running, mode == Mode::Train)
    }

    /// `act(forward(x))`, in the BatchNorm's own kernels where they allow it
    /// (`ops::batchnorm::batch_norm_act`).
    pub fn forward_act(&self, t: &mut Tape, p: &Bound, x: &Var, mode: Mode, act: Act) -> Var {
        let affine = self.affine.map(|(g, b)| (p.var(g), p.var(b)));
        batch_norm_act(
            t,
            x,
            affine,
            &self.running,
            mode == Mode::Train,
            act.slope(),
        )
    }

    /// Eval mode: BatchNormalization with the running statistics (unit scale and zero shift
    /// when not affine, as ONNX requires both).
    pub fn export(&self, g: &mut OnnxGraph, x: &str) -> String {
        let c = g.param_shape(self.stats.0)[0];
        let (scale, shift) = match self.affine {
            Some((gamma, beta)) => (g.param(gamma), g.param(beta)),
            None => (
                g.constant(
                    &format!("const.ones.{c}"),
                    &[c],
                    TensorData::F32(vec![1.0; c]),
                ),
                g.constant(
                    &format!("const.zeros.{c}"),
                    &[c],
                    TensorData::F32(vec![0.0; c]),
                ),
            ),
        };
        let mean = g.param(self.stats.0);
        let var = g.param(self.stats.1);
        let attrs = vec![Attribute::float("epsilon", EPS)];
        g.node(
            "BatchNormalization",
            &[x, &scale, &shift, &mean, &var],
            attrs,
        )
    }
}

/// conv -> BN, optionally followed by the activation.
pub struct ConvBn {
    pub conv: Conv,
    pub bn: BatchNorm,
    pub act_after: Option<Act>,
}

/// The shape of a [`ConvBn`]: `ConvBnSpec::new(cin, cout, 3, cfg).affine().act(a)`.
#[derive(Clone, Copy, Debug)]
pub struct ConvBnSpec {
    pub cin: usize,
    pub cout: usize,
    /// Square kernel side.
    pub k: usize,
    pub cfg: Conv2dCfg,
    /// BN with a learned scale and shift (else normalisation only).
    pub affine: bool,
    /// Activation after the BN.
    pub act: Option<Act>,
}

impl ConvBnSpec {
    /// A conv and a non-affine BN, no activation.
    pub fn new(cin: usize, cout: usize, k: usize, cfg: Conv2dCfg) -> ConvBnSpec {
        ConvBnSpec {
            cin,
            cout,
            k,
            cfg,
            affine: false,
            act: None,
        }
    }
    pub fn affine(self) -> ConvBnSpec {
        ConvBnSpec {
            affine: true,
            ..self
        }
    }
    pub fn act(self, act: Act) -> ConvBnSpec {
        ConvBnSpec {
            act: Some(act),
            ..self
        }
    }
}

impl ConvBn {
    pub fn new(s: &mut ParamStore, rng: &mut impl Rng, name: &str, spec: ConvBnSpec) -> ConvBn {
        let ConvBnSpec {
            cin,
            cout,
            k,
            cfg,
            affine,
            act,
        } = spec;
        let conv = Conv::new(s, rng, &format!("{name}.conv"), cin, cout, k, cfg, false);
        let bn = BatchNorm::new(s, &format!("{name}.bn"), cout, affine);
        ConvBn {
            conv,
            bn,
            act_after: act,
        }
    }

    pub fn forward(&self, t: &mut Tape, p: &Bound, x: &Var, mode: Mode) -> Var {
        let y = self.conv.forward(t, p, x);
        let y = self.bn.forward(t, p, &y, mode);
        match self.act_after {
            Some(a) => a.apply(t, &y),
            None => y,
        }
    }

    pub fn export(&self, g: &mut OnnxGraph, x: &str) -> String {
        let y = self.conv.export(g, x);
        let y = self.bn.export(g, &y);
        match self.act_after {
            Some(a) => a.export(g, &y),
            None => y,
        }
    }
}

/// Modulated deformable conv (DCNv2): a zero-initialised conv predicts offsets and a sigmoid mask.
pub struct DeformConv {
    pub offset_conv: Conv,
    pub w: ParamId,
    pub cfg: DeformCfg,
    pub taps: usize,
}

impl DeformConv {
    pub fn new(
        s: &mut ParamStore,
        rng: &mut impl Rng,
        name: &str,
        c: usize,
        k: usize,
        offset_groups: usize,
    ) -> Self {
        let pad = k / 2;
        let taps = offset_groups * k * k;
        let offset_conv = Conv::zeros(
            s,
            &format!("{name}.offset"),
            c,
            3 * taps,
            k,
            Conv2dCfg::new(1, pad, 1, 1),
        );
        let fan_in = c * k * k;
        let w = s.add(
            format!("{name}.weight"),
            &[c, c, k, k],
            &conv_init(rng, c * fan_in, fan_in),
            Group::Weight,
        );
        let cfg = DeformCfg {
            stride: 1,
            padding: pad,
            dilation: 1,
            groups: 1,
            offset_groups,
        };
        DeformConv {
            offset_conv,
            w,
            cfg,
            taps,
        }
    }

    pub fn forward(&self, t: &mut Tape, p: &Bound, x: &Var) -> Var {
        let om = self.offset_conv.forward(t, p, x);
        deform_conv2d_packed(t, x, &om, p.var(self.w), None, self.cfg)
    }

    /// ONNX's DeformConv (opset 19) has torchvision's offset layout: (dy, dx) per tap per offset
    /// group, which is ours (docs/deform_conv.md).
    pub fn export(&self, g: &mut OnnxGraph, x: &str) -> String {
        let om = self.offset_conv.export(g, x);
        let sizes = [2 * self.taps as i64, self.taps as i64];
        let split = g.constant(
            &format!("const.split.{}.{}", sizes[0], sizes[1]),
            &[2],
            TensorData::I64(sizes.to_vec()),
        );
        let parts = g.node_n("Split", &[&om, &split], vec![Attribute::int("axis", 1)], 2);
        let mask = g.node("Sigmoid", &[&parts[1]], vec![]);
        let k = g.param_shape(self.w)[2];
        let w = g.param(self.w);
        let c = self.cfg;
        let mut attrs = conv_attrs(k, c.stride, c.padding, c.dilation, c.groups);
        attrs.push(Attribute::int("offset_group", c.offset_groups as i64));
        g.node("DeformConv", &[x, &w, &parts[0], "", &mask], attrs)
    }
}
