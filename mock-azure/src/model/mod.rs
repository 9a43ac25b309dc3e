//! The resource model: IDs, the store and its journal, derived values (addresses,
//! GUIDs, passwords), and typed views of the resources read outside ARM.

pub mod id;
pub mod journal;
pub mod net;
pub mod state;
pub mod store;
pub mod view;

pub use id::ResourceId;
pub use store::{Change, PRIVATE, Store, StoreError, Tx};
