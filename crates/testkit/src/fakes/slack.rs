//! fake slack
