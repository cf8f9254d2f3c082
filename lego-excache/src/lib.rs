//! `lego-excache`: the pComponent's ExCache (work in progress).
#![cfg_attr(not(test), no_std)]
