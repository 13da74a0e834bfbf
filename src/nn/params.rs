//! Parameter storage: every trainable tensor and running statistic of a network, by name.
//!
//! Layers keep [`ParamId`]s; a step binds the store to a tape with [`ParamStore::bind`], choosing
//! which group is trainable, so a weight step records no architecture gradients and vice versa.

use crate::gpu::{Gpu, Tensor};
use crate::tape::{Tape, Var};
use rand::Rng;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ParamId(pub usize);

/// The store index, which is how the ONNX graph builder (a layer below) looks parameters up.
impl From<ParamId> for usize {
    fn from(id: ParamId) -> usize {
        id.0
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    /// Network weights (SGD during search).
    Weight,
    /// Architecture parameters alpha/beta (Adam during search).
    Arch,
    /// Not trained by gradients (BatchNorm running statistics).
    Buffer,
}

pub struct Param {
    pub name: String,
    pub value: Tensor,
    pub group: Group,
    /// PyTorch-style: biases and BN shifts get no weight decay (and a doubled lr) when retraining.
    pub is_bias: bool,
}

pub struct ParamStore {
    gpu: Gpu,
    pub params: Vec<Param>,
}

impl ParamStore {
    pub fn new(gpu: &Gpu) -> Self {
        ParamStore {
            gpu: gpu.clone(),
            params: Vec::new(),
        }
    }
    pub fn gpu(&self) -> &Gpu {
        &self.gpu
    }

    pub fn add(
        &mut self,
        name: impl Into<String>,
        shape: &[usize],
        data: &[f32],
        group: Group,
    ) -> ParamId {
        let name = name.into();
        let is_bias = name.ends_with(".bias") || name.ends_with(".beta_bn");
        debug_assert!(
            self.params.iter().all(|p| p.name != name),
            "duplicate parameter {name}"
        );
        self.params.push(Param {
            name,
            value: Tensor::from_slice(&self.gpu, shape, data),
            group,
            is_bias,
        });
        ParamId(self.params.len() - 1)
    }

    pub fn get(&self, id: ParamId) -> &Tensor {
        &self.params[id.0].value
    }

    /// Number of scalars in a group.
    pub fn count(&self, group: Group) -> usize {
        self.params
            .iter()
            .filter(|p| p.group == group)
            .map(|p| p.value.numel())
            .sum()
    }

    /// Puts every parameter on the tape; only `trainable`'s group needs gradients.
    pub fn bind(&self, tape: &mut Tape, trainable: Option<Group>) -> Bound {
        self.bind_groups(tape, trainable.as_slice())
    }

    /// Puts every parameter on the tape; the groups listed need gradients (never buffers).
    pub fn bind_groups(&self, tape: &mut Tape, trainable: &[Group]) -> Bound {
        let vars = self
            .params
            .iter()
            .map(|p| {
                tape.leaf(
                    p.value.clone(),
                    trainable.contains(&p.group) && p.group != Group::Buffer,
                )
            })
            .collect();
        Bound { vars }
    }

    pub fn ids(&self, group: Group) -> impl Iterator<Item = ParamId> + '_ {
        self.params
            .iter()
            .enumerate()
            .filter(move |(_, p)| p.group == group)
            .map(|(i, _)| ParamId(i))
    }

    /// Host copies of every tensor, by name (for checkpoints and safetensors files).
    pub fn to_host(&self) -> Vec<(String, Vec<usize>, Vec<f32>)> {
        let pending: Vec<_> = self.params.iter().map(|p| p.value.read_async()).collect();
        self.params
            .iter()
            .zip(pending)
            .map(|(p, r)| (p.name.clone(), p.value.shape().to_vec(), r.wait()))
            .collect()
    }

    /// Overwrites tensors from host data by name; every parameter must be present with its shape.
    pub fn load_host(&self, tensors: &[(String, Vec<usize>, Vec<f32>)]) -> anyhow::Result<()> {
        let by_name: std::collections::HashMap<&str, (&Vec<usize>, &Vec<f32>)> = tensors
            .iter()
            .map(|(n, s, d)| (n.as_str(), (s, d)))
            .collect();
        for p in &self.params {
            let (shape, data) = by_name
                .get(p.name.as_str())
                .ok_or_else(|| anyhow::anyhow!("missing tensor {}", p.name))?;
            anyhow::ensure!(
                shape.as_slice() == p.value.shape(),
                "tensor {} has shape {:?}, the network expects {:?}",
                p.name,
                shape,
                p.value.shape()
            );
            p.value.write(data);
        }
        Ok(())
    }
}

/// The store's parameters as tape variables for one step.
pub struct Bound {
    pub vars: Vec<Var>,
}

impl Bound {
    pub fn var(&self, id: ParamId) -> &Var {
        &self.vars[id.0]
    }
}

/// PyTorch's default conv init (kaiming_uniform with a = sqrt(5)): U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
pub fn conv_init(rng: &mut impl Rng, n: usize, fan_in: usize) -> Vec<f32> {
    let bound = 1.0 / (fan_in as f32).sqrt();
    (0..n).map(|_| rng.random_range(-bound..bound)).collect()
}
