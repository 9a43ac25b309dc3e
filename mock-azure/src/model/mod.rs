//! The resource model: IDs, the store, and derived values (addresses, GUIDs).

pub mod id;
pub mod net;
pub mod store;

pub use id::ResourceId;
pub use store::{Change, PRIVATE, Store, StoreError, Tx};
