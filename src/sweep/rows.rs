//! The rows of a sweep's results.csv and their grouping by test condition and strategy: what
//! `report` writes and `plot` draws, kept below both.

/// One row of results.csv.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct Row {
    pub task: String,
    pub strategy: String,
    pub arch_order: Option<u8>,
    pub space: String,
    pub seed: u64,
    pub sigma: f32,
    pub test_set: String,
    /// done, unfinished, failed or not started.
    pub status: String,
    pub genotype: Option<String>,
    pub params: Option<u64>,
    pub psnr: Option<f64>,
    pub ssim: Option<f64>,
    pub ssim_hinas: Option<f64>,
    pub noisy_psnr: Option<f64>,
    pub search_seconds: Option<f64>,
    pub train_seconds: Option<f64>,
}

/// The label of a row's strategy: darts-o1, darts-o2, random.
pub fn label(r: &Row) -> String {
    match r.arch_order {
        Some(o) => format!("{}-o{o}", r.strategy),
        None => r.strategy.clone(),
    }
}

/// (space, sigma, test set) -> strategy label -> finished rows, in first-seen order.
pub type Groups = Vec<((String, f32, String), Vec<(String, Vec<Row>)>)>;

pub fn groups(rows: &[Row]) -> Groups {
    let mut g: Groups = Vec::new();
    for r in rows.iter().filter(|r| r.psnr.is_some()) {
        let key = (r.space.clone(), r.sigma, r.test_set.clone());
        let pos = match g.iter().position(|(k, _)| *k == key) {
            Some(p) => p,
            None => {
                g.push((key, Vec::new()));
                g.len() - 1
            }
        };
        let strategies = &mut g[pos].1;
        let l = label(r);
        match strategies.iter_mut().find(|(s, _)| *s == l) {
            Some((_, v)) => v.push(r.clone()),
            None => strategies.push((l, vec![r.clone()])),
        }
    }
    g
}
