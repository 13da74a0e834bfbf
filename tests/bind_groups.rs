//! Far more distinct bind groups than a training step needs: the bind-group cache must stay
//! bounded (Mesa's software driver maps memory for every descriptor set and crashes inside
//! vkAllocateDescriptorSets once the process passes the kernel's memory-map limit, which an
//! unbounded cache reached in a search without cell sharing).

mod common;
use common::*;
use hinas::ops::elementwise::add_raw;

#[test]
fn many_distinct_bind_groups_stay_within_the_drivers_limits() {
    let gpu = gpu();
    let mut r = rng(9);
    let n = 260;
    let tensors: Vec<(hinas::gpu::Tensor, Vec<f64>)> = (0..n)
        .map(|_| upload(&gpu, &[4], &uniform(&mut r, 4, -1.0, 1.0)))
        .collect();
    // 67,600 (a, b) pairs: every dispatch binds a new pair of buffers.
    let mut checked = 0;
    for (i, (a, ah)) in tensors.iter().enumerate() {
        for (j, (b, bh)) in tensors.iter().enumerate() {
            let out = add_raw(a, b);
            if (i * n + j) % 9973 == 0 {
                let want: Vec<f64> = ah.iter().zip(bh).map(|(x, y)| x + y).collect();
                assert_close(&format!("a{i} + b{j}"), &out.to_vec(), &want, 1e-6);
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 7);
}
