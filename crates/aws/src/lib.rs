//! deploybot-aws.
