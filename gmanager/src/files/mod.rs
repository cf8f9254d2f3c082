//! Files in vNodes, from the host: `lego put/get/ls/rm/mkdir`. The CLI asks the cluster's
//! manager, which runs the request on its fabric endpoint against the vNode's buffer-cache
//! mComponent (see [`client`]).

pub mod client;
pub mod remote;
