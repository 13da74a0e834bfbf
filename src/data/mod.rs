//! Images, the built-in set, patch sampling with noise, metrics and test protocols.
