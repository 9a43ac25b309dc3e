//! The resource model: IDs, the store and its journal, and derived values (addresses,
//! GUIDs).

pub mod id;
pub mod journal;
pub mod net;
pub mod store;

pub use id::ResourceId;
pub use store::{Change, PRIVATE, Store, StoreError, Tx};
