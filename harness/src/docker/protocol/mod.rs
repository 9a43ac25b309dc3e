//! What the host and the component containers agree on, and nothing else: the control
//! channel ([`control`]), where every address is ([`layout`]) and the files they share
//! ([`state`]: the state directory and the component image's file system).

pub mod control;
pub mod layout;
pub mod state;
