//! The forward pass (deform-im2col per chunk, then the matmul) and the tape op, whose backward
//! rule calls backward.rs.

use super::backward::{backward_with, deform_conv2d_backward, DeformNeeds};
use super::launch::{matmul, u, GeoParams, Mm, SampleBinds, MM_BIAS};
use super::plan::{plan, Chunk, DeformCfg, Geom};
use crate::gpu::Tensor;
use crate::tape::{Tape, Var};

/// The deform-im2col columns [Cin*kh*kw, chunk columns] of one chunk (mask applied).
fn im2col(g: &Geom, c: &Chunk, x: &Tensor, offset: &Tensor, mask: Option<&Tensor>) -> Tensor {
    let col = Tensor::empty(x.gpu(), &[g.rows(), c.cols()]);
    let mut sb = SampleBinds::new(offset, mask);
    sb.x = Some(x);
    sb.col = Some(&col);
    let p = GeoParams::new(g, c);
    sb.run(
        if p.four_aligned() {
            "im2col4"
        } else {
            "im2col"
        },
        &p,
    );
    col
}

/// Forward: y = deform_conv2d(x, offset, mask, w, b) as torchvision computes it.
pub fn deform_conv2d_raw(
    x: &Tensor,
    offset: &Tensor,
    mask: Option<&Tensor>,
    w: &Tensor,
    b: Option<&Tensor>,
    cfg: DeformCfg,
) -> Tensor {
    let g = Geom::new(
        x.shape(),
        offset.shape(),
        mask.map(|m| m.shape()),
        w.shape(),
        b.map(|b| b.shape()),
        cfg,
    );
    forward_with(&g, x, offset, mask, w, b)
}

/// The forward pass of geometry `g` (with a packed `g`, `offset` and `mask` are both the
/// predictor output).
pub(super) fn forward_with(
    g: &Geom,
    x: &Tensor,
    offset: &Tensor,
    mask: Option<&Tensor>,
    w: &Tensor,
    b: Option<&Tensor>,
) -> Tensor {
    let g = *g;
    let gpu = x.gpu();
    g.check_bindable(gpu);
    let y = Tensor::empty(gpu, &g.out_shape());
    if super::direct::applies(&g, gpu) {
        super::direct::forward(&g, x, offset, mask, w, b, &y, None, None, None, None);
        return y;
    }
    let (p, cog, kg, groups) = (g.p(), g.cog(), g.kg(), g.cfg.groups);
    for c in plan(&g, gpu) {
        let col = im2col(&g, &c, x, offset, mask);
        // y[b, grp*cog + o, p0 + pl] = sum_ck W[grp*cog + o, ck] * col[grp*kg + ck, bi*np + pl]
        let mm = Mm {
            m: u(cog),
            n: u(c.np),
            k: u(kg),
            kb: 1,
            z2: u(groups),
            flags: if b.is_some() { MM_BIAS } else { 0 },
            a_sm: u(kg),
            a_sk: 1,
            a_z2: u(cog * kg),
            b_sk: u(c.cols()),
            b_sn: 1,
            b_z1: u(c.np),
            b_z2: u(kg * c.cols()),
            c_off: u(c.b0 * g.cout * p + c.p0),
            c_sm: u(p),
            c_sn: 1,
            c_z1: u(g.cout * p),
            c_z2: u(cog * p),
            bias_z2: u(cog),
            ..Mm::default()
        };
        matmul(&mm, c.nb, w, &col, b, &y);
    }
    y
}

/// Tape-level deformable convolution. Gradients flow to every input that needs one.
pub fn deform_conv2d(
    t: &mut Tape,
    x: &Var,
    offset: &Var,
    mask: Option<&Var>,
    w: &Var,
    b: Option<&Var>,
    cfg: DeformCfg,
) -> Var {
    let out = deform_conv2d_raw(
        x.value(),
        offset.value(),
        mask.map(|m| m.value()),
        w.value(),
        b.map(|b| b.value()),
        cfg,
    );
    let mut inputs: Vec<&Var> = vec![x, offset];
    inputs.extend(mask);
    inputs.push(w);
    inputs.extend(b);
    let saved = t.wants_grad(&inputs).then(|| {
        (
            x.value().clone(),
            offset.value().clone(),
            mask.map(|m| m.value().clone()),
            w.value().clone(),
        )
    });
    let has_mask = mask.is_some();
    let has_bias = b.is_some();
    t.record(
        out,
        &inputs,
        Box::new(move |gy, needs| {
            let (x, offset, mask, w) = saved.expect("recorded without saved inputs");
            let mut it = needs.iter().copied();
            let need_x = it.next().unwrap();
            let need_off = it.next().unwrap();
            let need_mask = has_mask && it.next().unwrap();
            let need_w = it.next().unwrap();
            let need_b = has_bias && it.next().unwrap();
            let gr = deform_conv2d_backward(
                &x,
                &offset,
                mask.as_ref(),
                &w,
                gy,
                cfg,
                DeformNeeds {
                    x: need_x,
                    offset: need_off,
                    mask: need_mask,
                    weight: need_w,
                    bias: need_b,
                },
            );
            let mut v = vec![gr.x, gr.offset];
            if has_mask {
                v.push(gr.mask);
            }
            v.push(gr.weight);
            if has_bias {
                v.push(gr.bias);
            }
            v
        }),
    )
}

/// Tape-level DCNv2 on its packed predictor output `om` = [N, 3*og*kh*kw, H', W'] (offsets, then
/// mask logits): equal to splitting `om`, a sigmoid on the logits and [`deform_conv2d`], with
/// the same values and gradients, in fewer passes. The kernels read both parts of `om` in place
/// (the sigmoid on load) and write its gradient as one tensor, so the split's two copies, the
/// sigmoid and its backward, and the two zero-padded slice gradients and their sum are gone.
pub fn deform_conv2d_packed(
    t: &mut Tape,
    x: &Var,
    om: &Var,
    w: &Var,
    b: Option<&Var>,
    cfg: DeformCfg,
) -> Var {
    let g = Geom::packed(x.shape(), om.shape(), w.shape(), b.map(|b| b.shape()), cfg);
    let (xv, omv) = (x.value(), om.value());
    let out = forward_with(&g, xv, omv, Some(omv), w.value(), b.map(|b| b.value()));
    let mut inputs: Vec<&Var> = vec![x, om, w];
    inputs.extend(b);
    let saved = t
        .wants_grad(&inputs)
        .then(|| (xv.clone(), omv.clone(), w.value().clone()));
    let has_bias = b.is_some();
    t.record(
        out,
        &inputs,
        Box::new(move |gy, needs| {
            let (x, om, w) = saved.expect("recorded without saved inputs");
            let need_b = has_bias && needs[3];
            let needs = DeformNeeds {
                x: needs[0],
                offset: needs[1],
                mask: needs[1],
                weight: needs[2],
                bias: need_b,
            };
            let gr = backward_with(&g, &x, &om, Some(&om), &w, gy, needs);
            let mut v = vec![gr.x, gr.offset, gr.weight];
            if has_bias {
                v.push(gr.bias);
            }
            v
        }),
    )
}
