//! The fake Azure DNS (issue 3): work in progress.
