//! Second-order DARTS: the vector kernels of the virtual step against an f64 CPU reference. The
//! architecture gradient itself is compared with a PyTorch implementation of the same unrolled
//! step in tests/supernet.rs. (Central differences of the unrolled objective
//! J(alpha) = L_val(w - xi grad_w L_train(w, alpha), alpha) do not converge on this network:
//! grad_w L_train jumps wherever a ReLU or a deformable sampling position crosses a kink, so J is
//! only piecewise smooth; NOTES.md has the measurement.)

mod common;
use common::*;
use hinas::gpu::Tensor;
use hinas::optim::unrolled::{add_scaled_by_norm, sum_squares, virtual_sgd, ByNorm};

#[test]
fn vector_kernels_match_cpu() {
    let gpu = gpu();
    let mut r = rng(11);
    for n in [1usize, 255, 256, 1000, 70_001] {
        let (w, wh) = upload(&gpu, &[n], &uniform(&mut r, n, -1.0, 1.0));
        let (g, gh) = upload(&gpu, &[n], &uniform(&mut r, n, -1.0, 1.0));
        let (m, mh) = upload(&gpu, &[n], &uniform(&mut r, n, -1.0, 1.0));
        let (xi, mu, wd) = (0.3f32, 0.9f32, 0.01f32);
        let (xi64, mu64, wd64) = (xi as f64, mu as f64, wd as f64);
        let want: Vec<f64> = (0..n)
            .map(|i| wh[i] - xi64 * (mu64 * mh[i] + gh[i] + wd64 * wh[i]))
            .collect();
        assert_close(
            "virtual_sgd",
            &virtual_sgd(&w, &g, Some(&m), xi, mu, wd).to_vec(),
            &want,
            1e-5,
        );
        let want: Vec<f64> = (0..n)
            .map(|i| wh[i] - xi64 * (gh[i] + wd64 * wh[i]))
            .collect();
        assert_close(
            "virtual_sgd without momentum",
            &virtual_sgd(&w, &g, None, xi, mu, wd).to_vec(),
            &want,
            1e-5,
        );

        let norm2: f64 = [&wh, &gh, &mh]
            .iter()
            .flat_map(|v| v.iter())
            .map(|x| x * x)
            .sum();
        let got = sum_squares(&[&w, &g, &m]);
        assert_close("sum_squares", &got.to_vec(), &[norm2], 1e-5);
        let r2 = norm2.sqrt();
        for (by, f) in [(ByNorm::Times, -0.7 * r2), (ByNorm::Over, -0.7 / r2)] {
            let want: Vec<f64> = (0..n).map(|i| wh[i] + f * gh[i]).collect();
            let out = add_scaled_by_norm(&w, &g, &got, -0.7, by);
            assert_close(
                &format!("add_scaled_by_norm {by:?}"),
                &out.to_vec(),
                &want,
                1e-5,
            );
        }
    }
    let zero = Tensor::zeros(&gpu, &[1]);
    let (a, ah) = upload(&gpu, &[5], &uniform(&mut r, 5, -1.0, 1.0));
    let out = add_scaled_by_norm(&a, &a, &zero, 1.0, ByNorm::Over).to_vec();
    assert_close("zero norm adds nothing", &out, &ah, 1e-7);
}
