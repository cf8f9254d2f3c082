//! Test helpers: an in-memory frame pool.
