//! Uploaded images: turning an upload into files fit to publish
//! (`process`), and where those files live (`store`).

pub mod process;
pub mod store;

pub use process::{Processed, Refused, UploadLimits, process};
pub use store::MediaStore;
