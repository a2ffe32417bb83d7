//! fake circleci
