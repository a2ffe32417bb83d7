//! GitHub REST adapter, authenticated as a GitHub App (implements `GitHub`).
