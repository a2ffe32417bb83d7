//! CircleCI API v2 adapter (implements `CiBackend`).
