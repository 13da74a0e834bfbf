//! Reverse-mode autodiff on a tape.
//!
//! A [`Var`] is a value (a GPU tensor) plus an id on the tape. Each op records a node holding
//! the ids of its inputs and a backward closure that owns exactly what the backward needs; no
//! node is recorded when no input needs a gradient, so frozen parameters (the weights during an
//! architecture step, the architecture during a weight step) cost nothing. `backward` walks the
//! nodes in reverse, consumes each node's output gradient, and drops the closure (and with it the
//! saved activations) as soon as it has run.

use crate::gpu::{Gpu, Tensor};
use std::collections::HashMap;

/// A value on the tape. Cheap to clone (the tensor is shared).
#[derive(Clone, Debug)]
pub struct Var {
    id: usize,
    value: Tensor,
    needs_grad: bool,
}

impl Var {
    pub fn id(&self) -> usize {
        self.id
    }
    pub fn value(&self) -> &Tensor {
        &self.value
    }
    pub fn shape(&self) -> &[usize] {
        self.value.shape()
    }
    pub fn needs_grad(&self) -> bool {
        self.needs_grad
    }
}

/// Computes the gradients of a node's inputs from the gradient of its output. `needs[i]` says
/// whether input i wants one; entries for other inputs may be `None`.
pub type BackwardFn = Box<dyn FnOnce(&Tensor, &[bool]) -> Vec<Option<Tensor>>>;

struct Node {
    out: usize,
    inputs: Vec<(usize, bool)>,
    backward: BackwardFn,
}

pub struct Tape {
    gpu: Gpu,
    next_id: usize,
    nodes: Vec<Node>,
    grad_enabled: bool,
}

impl Tape {
    pub fn new(gpu: &Gpu) -> Tape {
        Tape {
            gpu: gpu.clone(),
            next_id: 0,
            nodes: Vec::new(),
            grad_enabled: true,
        }
    }

    /// A tape that never records (inference): every op output is a constant.
    pub fn inference(gpu: &Gpu) -> Tape {
        Tape {
            grad_enabled: false,
            ..Tape::new(gpu)
        }
    }

    pub fn gpu(&self) -> &Gpu {
        &self.gpu
    }
    pub fn grad_enabled(&self) -> bool {
        self.grad_enabled
    }

    fn fresh(&mut self, value: Tensor, needs_grad: bool) -> Var {
        self.next_id += 1;
        Var {
            id: self.next_id,
            value,
            needs_grad: needs_grad && self.grad_enabled,
        }
    }

    /// A leaf: a parameter (`trainable`) or data/frozen parameter (not).
    pub fn leaf(&mut self, value: Tensor, trainable: bool) -> Var {
        self.fresh(value, trainable)
    }

    pub fn constant(&mut self, value: Tensor) -> Var {
        self.fresh(value, false)
    }

    /// Records the output of an op. The closure is kept only if some input needs a gradient.
    pub fn record(&mut self, out: Tensor, inputs: &[&Var], backward: BackwardFn) -> Var {
        let needs = inputs.iter().any(|v| v.needs_grad);
        let var = self.fresh(out, needs);
        if var.needs_grad {
            self.nodes.push(Node {
                out: var.id,
                inputs: inputs.iter().map(|v| (v.id, v.needs_grad)).collect(),
                backward,
            });
        }
        var
    }

    /// Whether an op must record at all; lets ops skip saving tensors when nothing needs a grad.
    pub fn wants_grad(&self, inputs: &[&Var]) -> bool {
        self.grad_enabled && inputs.iter().any(|v| v.needs_grad)
    }

    /// Backpropagates from a scalar (or any tensor, seeded with ones) and returns the gradients
    /// of the leaves that need them. The tape is consumed: its saved tensors are freed.
    pub fn backward(self, root: &Var) -> Gradients {
        let seed = crate::gpu::elementwise::full(&self.gpu, root.shape(), 1.0);
        self.backward_with(root, seed)
    }

    /// Backpropagates with an explicit output gradient.
    pub fn backward_with(mut self, root: &Var, seed: Tensor) -> Gradients {
        assert_eq!(seed.shape(), root.shape(), "seed gradient shape");
        let mut grads: HashMap<usize, Pending> = HashMap::new();
        if root.needs_grad {
            accumulate(&mut grads, root.id, seed);
        }
        while let Some(node) = self.nodes.pop() {
            let Some(g) = grads.remove(&node.out).map(Pending::settle) else {
                continue;
            };
            let needs: Vec<bool> = node.inputs.iter().map(|&(_, n)| n).collect();
            let in_grads = (node.backward)(&g, &needs);
            drop(g);
            for ((id, need), gi) in node.inputs.iter().zip(in_grads) {
                let (true, Some(gi)) = (*need, gi) else {
                    continue;
                };
                accumulate(&mut grads, *id, gi);
            }
        }
        let grads = grads.into_iter().map(|(id, p)| (id, p.settle())).collect();
        Gradients { grads }
    }
}

/// The gradients that have met at one var so far: a running sum and up to two more, which the
/// next one folds in with a single `sum4` dispatch (four gradients: one dispatch instead of
/// three `add`s, with the same roundings). A supernet's node states meet a gradient from each
/// candidate of each edge they feed.
struct Pending {
    sum: Tensor,
    queued: Vec<Tensor>,
}

impl Pending {
    fn settle(self) -> Tensor {
        if self.queued.is_empty() {
            return self.sum;
        }
        let mut ts = vec![&self.sum];
        ts.extend(&self.queued);
        crate::gpu::elementwise::sum(&ts)
    }
}

fn accumulate(grads: &mut HashMap<usize, Pending>, id: usize, g: Tensor) {
    match grads.get_mut(&id) {
        None => {
            grads.insert(
                id,
                Pending {
                    sum: g,
                    queued: Vec::new(),
                },
            );
        }
        Some(p) if p.queued.len() == 2 => {
            let (q0, q1) = (p.queued.pop().unwrap(), p.queued.pop().unwrap());
            p.sum = crate::gpu::elementwise::sum(&[&p.sum, &q1, &q0, &g]);
        }
        Some(p) => p.queued.push(g),
    }
}

/// Gradients of the leaves, by var.
pub struct Gradients {
    grads: HashMap<usize, Tensor>,
}

impl Gradients {
    pub fn get(&self, v: &Var) -> Option<&Tensor> {
        self.grads.get(&v.id)
    }
    pub fn take(&mut self, v: &Var) -> Option<Tensor> {
        self.grads.remove(&v.id)
    }
}
