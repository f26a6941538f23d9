//! Stage: check derivative identities.
