//! Property cases (in progress).
