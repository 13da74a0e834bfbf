//! What runs leave behind for people: CSV logs, cell and network pictures, plots, TensorBoard
//! scalars and progress lines.

pub mod graph;
pub mod plot;
pub mod progress;
pub mod tensorboard;
