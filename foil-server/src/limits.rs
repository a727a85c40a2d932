//! Concurrency caps: requests in flight server-wide (a streamed response counts until its body
//! ends), and open reply streams per API key and per account.
//!
//! Rate limits (`rate_limit/`) bound how often; these bound how many at once, so a client that
//! opens streams and never reads them cannot pile them up.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use dashmap::DashMap;
use http_body::{Frame, SizeHint};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use uuid::Uuid;

use crate::error::ApiError;
use crate::rate_limit::RateLimited;

/// Middleware: at most the semaphore's permits in flight; beyond that 503 `overloaded` at
/// once. The permit travels with the response body, so a stream holds it until it ends.
pub(crate) async fn limit_in_flight(
    State(slots): State<Arc<Semaphore>>,
    request: Request,
    next: Next,
) -> Response {
    let Ok(permit) = slots.try_acquire_owned() else {
        metrics::counter!("foil_requests_shed_total").increment(1);
        return ApiError::Overloaded.into_response();
    };
    next.run(request).await.map(|body| {
        Body::new(HoldPermit {
            body,
            _permit: permit,
        })
    })
}

/// A response body that keeps an in-flight permit until it is dropped.
struct HoldPermit {
    body: Body,
    _permit: OwnedSemaphorePermit,
}

impl http_body::Body for HoldPermit {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// Whose streams are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Owner {
    Key(Uuid),
    Account(Uuid),
}

/// Open reply streams per API key and per account.
#[derive(Default)]
pub(crate) struct StreamSlots {
    open: DashMap<Owner, usize>,
}

/// One open stream; frees its slots (and the `foil_active_streams` gauge) when dropped.
pub(crate) struct StreamSlot {
    slots: Arc<StreamSlots>,
    owners: Vec<Owner>,
    /// Counted in the gauge (false for the give-back of a refused attempt).
    counted: bool,
}

impl StreamSlots {
    /// Takes a slot for a stream of `account` (through `key`, for SDK callers), or 429 with
    /// `Retry-After: 1` when the key already has `per_key` streams open or the account
    /// `per_account` (0 = no cap).
    pub(crate) fn open(
        self: &Arc<Self>,
        account: Uuid,
        key: Option<Uuid>,
        per_key: usize,
        per_account: usize,
    ) -> Result<StreamSlot, ApiError> {
        let mut wanted = vec![(Owner::Account(account), per_account)];
        if let Some(key) = key {
            wanted.push((Owner::Key(key), per_key));
        }
        let mut taken = Vec::new();
        for (owner, cap) in wanted {
            let mut count = self.open.entry(owner).or_insert(0);
            if cap > 0 && *count >= cap {
                drop(count);
                // Give back what this call took.
                drop(StreamSlot {
                    slots: self.clone(),
                    owners: taken,
                    counted: false,
                });
                metrics::counter!("foil_streams_refused_total").increment(1);
                return Err(ApiError::RateLimited(RateLimited {
                    retry_after_secs: 1,
                }));
            }
            *count += 1;
            taken.push(owner);
        }
        metrics::gauge!("foil_active_streams").increment(1.0);
        Ok(StreamSlot {
            slots: self.clone(),
            owners: taken,
            counted: true,
        })
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        for owner in &self.owners {
            let now_zero = match self.slots.open.get_mut(owner) {
                Some(mut count) => {
                    *count = count.saturating_sub(1);
                    *count == 0
                }
                None => false,
            };
            if now_zero {
                self.slots.open.remove_if(owner, |_, count| *count == 0);
            }
        }
        if self.counted {
            metrics::gauge!("foil_active_streams").decrement(1.0);
        }
    }
}
