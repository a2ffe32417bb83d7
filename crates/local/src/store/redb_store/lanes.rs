//! The redb store's lane table: one record per lane (saved on its version), each lane's
//! arrival counter, the lock history, and the due-time index.

use super::*;

#[async_trait]
impl LaneStore for RedbStore {
    async fn get_lane(&self, lane: &LaneKey) -> Result<Option<LaneRecord>, StoreError> {
        let lane = lane.clone();
        self.read(move |transaction| {
            let lanes = transaction.open_table(LANES).or_backend("lanes")?;
            let environment = lane.environment.to_string();
            get_lane_in(&lanes, lane.repository.as_str(), &environment)
        })
        .await
    }

    async fn lanes_of(&self, repository: &Repository) -> Result<Vec<LaneRecord>, StoreError> {
        let repository = repository.clone();
        self.read(move |transaction| {
            let lanes = transaction.open_table(LANES).or_backend("lanes")?;
            let mut found: Vec<LaneRecord> = Vec::new();
            for entry in lanes
                .range((repository.as_str(), "")..)
                .or_backend("lanes")?
            {
                let (key, json) = entry.or_backend("lanes")?;
                let (entry_repository, environment) = key.value();
                if entry_repository != repository.as_str() {
                    break;
                }
                found.push(decode(
                    "lanes",
                    &format!("{entry_repository} {environment}"),
                    json.value(),
                )?);
            }
            // Keys sort by the environment's name; the port orders by environment.
            found.sort_by(|a, b| a.lane.environment.cmp(&b.lane.environment));
            Ok(found)
        })
        .await
    }

    async fn save_lane(&self, record: &LaneRecord) -> Result<LaneSaved, StoreError> {
        let record = record.clone();
        self.write(move |transaction| {
            let mut lanes = transaction.open_table(LANES).or_backend("lanes")?;
            let mut due = transaction.open_table(LANES_DUE).or_backend("lanes_due")?;
            let repository = record.lane.repository.as_str();
            let environment = record.lane.environment.to_string();
            let stored = get_lane_in(&lanes, repository, &environment)?;
            let stored_version = stored.as_ref().map_or(0, |stored| stored.version);
            if stored_version != record.version {
                let current = stored
                    .unwrap_or_else(|| LaneRecord::empty(record.lane.clone(), record.updated_at));
                return Ok(LaneSaved::Conflict(Box::new(current)));
            }
            let mut saved = record.clone();
            saved.version = record.version.checked_add(1).ok_or_else(|| {
                StoreError::Corrupt(format!("lane {} version overflow", record.lane))
            })?;
            if let Some(previous) = stored.and_then(|stored| stored.due_at) {
                due.remove((previous.millis(), repository, environment.as_str()))
                    .or_backend("lanes_due")?;
            }
            if let Some(due_at) = saved.due_at {
                due.insert((due_at.millis(), repository, environment.as_str()), ())
                    .or_backend("lanes_due")?;
            }
            lanes
                .insert((repository, environment.as_str()), encode(&saved)?.as_str())
                .or_backend("lanes")?;
            Ok(LaneSaved::Saved(Box::new(saved)))
        })
        .await
    }

    async fn delete_lane(&self, record: &LaneRecord) -> Result<bool, StoreError> {
        let record = record.clone();
        self.write(move |transaction| {
            let mut lanes = transaction.open_table(LANES).or_backend("lanes")?;
            let mut due = transaction.open_table(LANES_DUE).or_backend("lanes_due")?;
            let repository = record.lane.repository.as_str();
            let environment = record.lane.environment.to_string();
            let Some(stored) = get_lane_in(&lanes, repository, &environment)?
                .filter(|stored| stored.version == record.version)
            else {
                return Ok(false);
            };
            if let Some(due_at) = stored.due_at {
                due.remove((due_at.millis(), repository, environment.as_str()))
                    .or_backend("lanes_due")?;
            }
            lanes
                .remove((repository, environment.as_str()))
                .or_backend("lanes")?;
            Ok(true)
        })
        .await
    }

    async fn next_lane_seq(&self, lane: &LaneKey) -> Result<u64, StoreError> {
        let lane = lane.clone();
        self.write(move |transaction| {
            let mut counters = transaction.open_table(LANE_SEQ).or_backend("lane_seq")?;
            let environment = lane.environment.to_string();
            let key = (lane.repository.as_str(), environment.as_str());
            let last = counters
                .get(key)
                .or_backend("lane_seq")?
                .map_or(0, |stored| stored.value());
            let next = last.checked_add(1).ok_or_else(|| {
                StoreError::Corrupt(format!("lane {lane} arrival counter overflow"))
            })?;
            counters.insert(key, next).or_backend("lane_seq")?;
            Ok(next)
        })
        .await
    }

    async fn record_lock_event(&self, entry: &LockHistoryEntry) -> Result<(), StoreError> {
        let entry = entry.clone();
        self.write(move |transaction| {
            let mut history = transaction
                .open_table(LOCK_HISTORY)
                .or_backend("lock_history")?;
            let repository = entry.lane.repository.as_str();
            let environment = entry.lane.environment.to_string();
            let at = entry.at.millis();
            // Entries of one instant are numbered in the order they are recorded.
            let last = history
                .range(
                    (repository, environment.as_str(), at, 0)
                        ..=(repository, environment.as_str(), at, u64::MAX),
                )
                .or_backend("lock_history")?
                .next_back()
                .transpose()
                .or_backend("lock_history")?
                .map(|(key, _)| key.value().3);
            let number = match last {
                None => 0,
                Some(last) => last.checked_add(1).ok_or_else(|| {
                    StoreError::Corrupt(format!(
                        "lock history of {} at {at}: too many entries",
                        entry.lane
                    ))
                })?,
            };
            history
                .insert(
                    (repository, environment.as_str(), at, number),
                    encode(&entry)?.as_str(),
                )
                .or_backend("lock_history")?;
            Ok(())
        })
        .await
    }

    async fn lock_history(
        &self,
        lane: &LaneKey,
        limit: usize,
    ) -> Result<Vec<LockHistoryEntry>, StoreError> {
        let lane = lane.clone();
        self.read(move |transaction| {
            let history = transaction
                .open_table(LOCK_HISTORY)
                .or_backend("lock_history")?;
            let repository = lane.repository.as_str();
            let environment = lane.environment.to_string();
            let mut found = Vec::new();
            if limit == 0 {
                return Ok(found);
            }
            for entry in history
                .range(
                    (repository, environment.as_str(), i64::MIN, 0)
                        ..=(repository, environment.as_str(), i64::MAX, u64::MAX),
                )
                .or_backend("lock_history")?
                .rev()
            {
                let (key, json) = entry.or_backend("lock_history")?;
                let (_, _, at, number) = key.value();
                found.push(decode(
                    "lock_history",
                    &format!("{lane} {at} {number}"),
                    json.value(),
                )?);
                if found.len() == limit {
                    break;
                }
            }
            Ok(found)
        })
        .await
    }

    async fn record_bad_range(
        &self,
        range: &deploybot_core::rollback::BadRange,
    ) -> Result<(), StoreError> {
        let range = range.clone();
        self.write(move |transaction| {
            let mut ranges = transaction
                .open_table(BAD_RANGES)
                .or_backend("bad_ranges")?;
            let environment = range.lane.environment.to_string();
            ranges
                .insert(
                    (
                        range.lane.repository.as_str(),
                        environment.as_str(),
                        range.rollback.as_str(),
                    ),
                    encode(&range)?.as_str(),
                )
                .or_backend("bad_ranges")?;
            Ok(())
        })
        .await
    }

    async fn get_approval(
        &self,
        key: &deploybot_core::approval::ApprovalKey,
    ) -> Result<Option<deploybot_core::approval::ApprovalRequest>, StoreError> {
        let key = key.clone();
        self.read(move |transaction| {
            let approvals = transaction.open_table(APPROVALS).or_backend("approvals")?;
            get_approval_in(&approvals, &key)
        })
        .await
    }

    async fn save_approval(
        &self,
        request: &deploybot_core::approval::ApprovalRequest,
    ) -> Result<deploybot_core::ports::ApprovalSaved, StoreError> {
        use deploybot_core::ports::ApprovalSaved;
        let request = request.clone();
        self.write(move |transaction| {
            let mut approvals = transaction.open_table(APPROVALS).or_backend("approvals")?;
            let stored = get_approval_in(&approvals, &request.key)?;
            if stored.as_ref().map_or(0, |s| s.version) != request.version {
                return Ok(ApprovalSaved::Conflict(stored.map(Box::new)));
            }
            let mut saved = request.clone();
            saved.version = request.version.checked_add(1).ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "approval {} version overflow",
                    request.key.sort_key()
                ))
            })?;
            let sort_key = saved.key.sort_key();
            approvals
                .insert(
                    (saved.key.lane.repository.as_str(), sort_key.as_str()),
                    encode(&saved)?.as_str(),
                )
                .or_backend("approvals")?;
            Ok(ApprovalSaved::Saved(Box::new(saved)))
        })
        .await
    }

    async fn bad_ranges(
        &self,
        lane: &LaneKey,
        limit: usize,
    ) -> Result<Vec<deploybot_core::rollback::BadRange>, StoreError> {
        let lane = lane.clone();
        self.read(move |transaction| {
            let ranges = transaction
                .open_table(BAD_RANGES)
                .or_backend("bad_ranges")?;
            let repository = lane.repository.as_str();
            let environment = lane.environment.to_string();
            let mut found = Vec::new();
            if limit == 0 {
                return Ok(found);
            }
            for entry in ranges
                .range(
                    (repository, environment.as_str(), "")
                        ..(repository, environment.as_str(), "\u{10FFFF}"),
                )
                .or_backend("bad_ranges")?
            {
                let (key, json) = entry.or_backend("bad_ranges")?;
                let (_, _, id) = key.value();
                found.push(decode("bad_ranges", &format!("{lane} {id}"), json.value())?);
                if found.len() == limit {
                    break;
                }
            }
            Ok(found)
        })
        .await
    }

    async fn due_lanes(&self, now: Timestamp, limit: usize) -> Result<Vec<LaneRecord>, StoreError> {
        self.read(move |transaction| {
            let due = transaction.open_table(LANES_DUE).or_backend("lanes_due")?;
            let mut entries = Vec::new();
            if limit > 0 {
                for entry in due.iter().or_backend("lanes_due")? {
                    let (key, _) = entry.or_backend("lanes_due")?;
                    let (due_at, repository, environment) = key.value();
                    if due_at > now.millis() {
                        break;
                    }
                    entries.push((repository.to_owned(), environment.to_owned()));
                    if entries.len() == limit {
                        break;
                    }
                }
            }
            let lanes = transaction.open_table(LANES).or_backend("lanes")?;
            let mut found = Vec::with_capacity(entries.len());
            for (repository, environment) in entries {
                match get_lane_in(&lanes, &repository, &environment)? {
                    Some(record) => found.push(record),
                    None => {
                        return Err(StoreError::Corrupt(format!(
                            "lanes_due points to the missing lane {repository} {environment}"
                        )));
                    }
                }
            }
            Ok(found)
        })
        .await
    }
}

/// The lane record under `(repository, environment)`, decoded.
fn get_lane_in(
    lanes: &impl ReadableTable<(&'static str, &'static str), &'static str>,
    repository: &str,
    environment: &str,
) -> Result<Option<LaneRecord>, StoreError> {
    match lanes.get((repository, environment)).or_backend("lanes")? {
        Some(json) => decode(
            "lanes",
            &format!("{repository} {environment}"),
            json.value(),
        )
        .map(Some),
        None => Ok(None),
    }
}

fn get_approval_in(
    approvals: &impl ReadableTable<(&'static str, &'static str), &'static str>,
    key: &deploybot_core::approval::ApprovalKey,
) -> Result<Option<deploybot_core::approval::ApprovalRequest>, StoreError> {
    let sort_key = key.sort_key();
    approvals
        .get((key.lane.repository.as_str(), sort_key.as_str()))
        .or_backend("approvals")?
        .map(|json| decode("approvals", &sort_key, json.value()))
        .transpose()
}
