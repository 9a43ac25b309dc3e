//! The fake ACR data plane (issue 4): work in progress.
