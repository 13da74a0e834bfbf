//! Optimisers as GPU kernels, and learning-rate schedules.
//!
//! An optimiser keeps its state per *slot*, an index the caller chooses (the parameter's index in
//! its store), created lazily on the first step that names it. `step` updates every parameter in
//! place with one dispatch per four tensors (multi.rs; one per tensor where the device cannot
//! bind that many buffers) and reads nothing back. Per-tensor constants live in cached
//! uniform blocks; the per-step values (learning rate, weight decay, Adam's bias corrections) go
//! into one small storage buffer written once per step (shaders/optim.wgsl).
//!
//! State export for checkpoints: `state()` gives named tensors, `"{slot}.{key}"` with PyTorch's
//! keys (`momentum_buffer`, `exp_avg`, `exp_avg_sq`, `step`); step counters are `[1]` tensors
//! holding the count as f32 (exact up to 2^24 steps). `load_state` takes the same list back.

pub mod adam;
pub(crate) mod multi;
pub mod schedule;
pub mod sgd;
pub mod unrolled;

pub use adam::Adam;
pub use multi::with_single_tensor_updates;
pub use schedule::LrSchedule;
pub use sgd::Sgd;

use crate::gpu::{Gpu, Kernel, Tensor};

pub(crate) const K: Kernel = crate::kernel!("optim");

/// One parameter tensor in a step: its slot, value (updated in place), gradient, and its
/// learning-rate multiplier and (coupled, L2) weight decay.
#[derive(Clone, Copy, Debug)]
pub struct ParamRef<'a> {
    pub slot: usize,
    pub param: &'a Tensor,
    pub grad: &'a Tensor,
    pub lr_scale: f32,
    pub weight_decay: f32,
}

impl<'a> ParamRef<'a> {
    /// Learning-rate multiplier 1, no weight decay.
    pub fn new(slot: usize, param: &'a Tensor, grad: &'a Tensor) -> Self {
        ParamRef {
            slot,
            param,
            grad,
            lr_scale: 1.0,
            weight_decay: 0.0,
        }
    }
    pub fn lr_scale(self, lr_scale: f32) -> Self {
        ParamRef { lr_scale, ..self }
    }
    pub fn weight_decay(self, weight_decay: f32) -> Self {
        ParamRef {
            weight_decay,
            ..self
        }
    }
}

/// What a training loop needs from either optimiser.
pub trait Optimizer {
    /// Updates every parameter in place; `lr` is the base rate (times each `lr_scale`).
    fn step(&mut self, lr: f32, params: &[ParamRef]);
    /// Copies of the state tensors, named `"{slot}.{key}"`, sorted by slot.
    fn state(&self) -> Vec<(String, Tensor)>;
    /// Replaces the whole state with one `state()` returned (tensors are taken over, not copied).
    fn load_state(&mut self, state: Vec<(String, Tensor)>) -> anyhow::Result<()>;
}

crate::uniform! {
    /// The uniform block of shaders/optim.wgsl.
    #[derive(Default)]
    pub(crate) struct Params {
        pub n: u32,
        pub k: u32,
        pub clip_on: u32,
        pub _pad: u32,
        pub momentum: f32,
        pub clip: f32,
        pub beta2: f32,
        pub eps: f32,
        pub omb1: f32,
        pub omb2: f32,
        pub _pad1: [u32; 2],
    }
}

/// The per-step block: four f32 per parameter of the step. Kept between steps so a training
/// loop with a fixed parameter list rewrites one buffer instead of allocating.
#[derive(Default)]
pub(crate) struct Hyper {
    buf: Option<Tensor>,
}

impl Hyper {
    pub fn upload(&mut self, gpu: &Gpu, values: &[f32]) -> &Tensor {
        let fits = self.buf.as_ref().is_some_and(|b| b.numel() == values.len());
        if fits {
            // `write` flushes first, so last step's dispatches read last step's values.
            self.buf.as_ref().unwrap().write(values);
        } else {
            self.buf = Some(Tensor::from_slice(gpu, &[values.len()], values));
        }
        self.buf.as_ref().unwrap()
    }
}

/// Shape and aliasing checks shared by the optimisers.
pub(crate) fn check_params(params: &[ParamRef]) {
    let mut slots: Vec<usize> = params.iter().map(|p| p.slot).collect();
    slots.sort_unstable();
    if let Some(w) = slots.windows(2).find(|w| w[0] == w[1]) {
        panic!("optimiser step names slot {} twice", w[0]);
    }
    for p in params {
        assert_eq!(
            p.param.shape(),
            p.grad.shape(),
            "slot {}: gradient shape differs from the parameter's",
            p.slot
        );
        assert!(
            !p.param.same_storage(p.grad),
            "slot {}: gradient aliases the parameter",
            p.slot
        );
        assert!(
            p.param.numel() <= p.param.gpu().max_binding_elems(),
            "slot {}: parameter exceeds one storage binding",
            p.slot
        );
    }
}

/// A step counter as a `[1]` tensor.
pub(crate) fn counter_tensor(gpu: &Gpu, step: u64) -> Tensor {
    assert!(step < 1 << 24, "step counter {step} is not exact in f32");
    Tensor::from_slice(gpu, &[1], &[step as f32])
}

/// Splits `"{slot}.{key}"`.
pub(crate) fn parse_name(name: &str) -> anyhow::Result<(usize, &str)> {
    let (slot, key) = name
        .split_once('.')
        .ok_or_else(|| anyhow::anyhow!("optimiser state name {name:?} is not \"slot.key\""))?;
    let slot = slot
        .parse()
        .map_err(|_| anyhow::anyhow!("optimiser state name {name:?}: bad slot"))?;
    Ok((slot, key))
}
