//! The redb store's delivery table: leased idempotency keys and their expiry order.

use super::*;

#[async_trait]
impl DeliveryStore for RedbStore {
    async fn claim_delivery(
        &self,
        key: &str,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<Claim, StoreError> {
        let expires_at = lease_until;
        let key = key.to_owned();
        self.write(move |transaction| {
            let mut deliveries = transaction
                .open_table(DELIVERIES)
                .or_backend("deliveries")?;
            let mut expiry = transaction
                .open_table(DELIVERY_EXPIRY)
                .or_backend("delivery_expiry")?;

            // Drop a few expired deliveries, oldest first.
            let mut expired = Vec::new();
            for entry in expiry
                .range(..(now.millis().saturating_add(1), ""))
                .or_backend("delivery_expiry")?
                .take(EXPIRED_DELIVERIES_PER_CALL)
            {
                let (entry_key, _) = entry.or_backend("delivery_expiry")?;
                let (at, delivery) = entry_key.value();
                expired.push((at, delivery.to_owned()));
            }
            for (at, delivery) in &expired {
                expiry
                    .remove((*at, delivery.as_str()))
                    .or_backend("delivery_expiry")?;
                let same_record = deliveries
                    .get(delivery.as_str())
                    .or_backend("deliveries")?
                    .is_some_and(|stored| stored.value() == *at);
                if same_record {
                    deliveries
                        .remove(delivery.as_str())
                        .or_backend("deliveries")?;
                    transaction
                        .open_table(DELIVERIES_DONE)
                        .or_backend("deliveries_done")?
                        .remove(delivery.as_str())
                        .or_backend("deliveries_done")?;
                }
            }

            let previous = deliveries
                .get(key.as_str())
                .or_backend("deliveries")?
                .map(|stored| stored.value());
            let mut done = transaction
                .open_table(DELIVERIES_DONE)
                .or_backend("deliveries_done")?;
            if let Some(previous) = previous.filter(|previous| *previous > now.millis()) {
                let is_done = done
                    .get(key.as_str())
                    .or_backend("deliveries_done")?
                    .is_some();
                return Ok(if is_done {
                    Claim::Done
                } else {
                    Claim::Held {
                        until: Timestamp::from_millis(previous),
                    }
                });
            }
            done.remove(key.as_str()).or_backend("deliveries_done")?;
            if let Some(previous) = previous {
                expiry
                    .remove((previous, key.as_str()))
                    .or_backend("delivery_expiry")?;
            }
            deliveries
                .insert(key.as_str(), expires_at.millis())
                .or_backend("deliveries")?;
            expiry
                .insert((expires_at.millis(), key.as_str()), ())
                .or_backend("delivery_expiry")?;
            Ok(Claim::Claimed)
        })
        .await
    }

    async fn finish_delivery(&self, key: &str, keep_until: Timestamp) -> Result<(), StoreError> {
        let key = key.to_owned();
        self.write(move |transaction| {
            let mut deliveries = transaction
                .open_table(DELIVERIES)
                .or_backend("deliveries")?;
            let mut expiry = transaction
                .open_table(DELIVERY_EXPIRY)
                .or_backend("delivery_expiry")?;
            let previous = deliveries
                .insert(key.as_str(), keep_until.millis())
                .or_backend("deliveries")?
                .map(|stored| stored.value());
            if let Some(previous) = previous {
                expiry
                    .remove((previous, key.as_str()))
                    .or_backend("delivery_expiry")?;
            }
            expiry
                .insert((keep_until.millis(), key.as_str()), ())
                .or_backend("delivery_expiry")?;
            transaction
                .open_table(DELIVERIES_DONE)
                .or_backend("deliveries_done")?
                .insert(key.as_str(), ())
                .or_backend("deliveries_done")?;
            Ok(())
        })
        .await
    }

    async fn forget_delivery(&self, key: &str) -> Result<(), StoreError> {
        let key = key.to_owned();
        self.write(move |transaction| {
            let mut deliveries = transaction
                .open_table(DELIVERIES)
                .or_backend("deliveries")?;
            let removed = deliveries
                .remove(key.as_str())
                .or_backend("deliveries")?
                .map(|stored| stored.value());
            if let Some(expires_at) = removed {
                let mut expiry = transaction
                    .open_table(DELIVERY_EXPIRY)
                    .or_backend("delivery_expiry")?;
                expiry
                    .remove((expires_at, key.as_str()))
                    .or_backend("delivery_expiry")?;
            }
            transaction
                .open_table(DELIVERIES_DONE)
                .or_backend("deliveries_done")?
                .remove(key.as_str())
                .or_backend("deliveries_done")?;
            Ok(())
        })
        .await
    }
}
