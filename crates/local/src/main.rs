//! `deploybot-local`: not built yet.

fn main() {}
