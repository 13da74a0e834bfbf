//! Optimisers as GPU kernels, and learning-rate schedules.
