//! The old home of the retire report: the pages are in [`crate::report`] now (one frame,
//! one stylesheet, maud templates). These paths stay for the code that uses them.

pub(crate) use crate::report::esc;
pub use crate::report::retire::{page, RunInfo};
