//! What runs leave behind for people: CSV logs, cell and network pictures, PNG plots.

pub mod graph;
pub mod plot;
