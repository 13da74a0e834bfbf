//! Neural-network building blocks and the HiNAS networks: parameters, layers, candidate ops,
//! cells, the supernet, the derived network, genotypes, and the denoising loss.

pub mod candidates;
pub mod cell;
pub mod derived;
pub mod genotype;
pub mod layers;
pub mod loss;
pub mod params;
pub mod space;
pub mod supernet;
