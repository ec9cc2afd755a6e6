//! The contract every pipeline domain implements, and the closed set of error types a domain
//! may fail a message with.

use std::fmt;
use std::future::Future;

use crate::event::Event;

/// Why a message failed, from a small closed set so that it can label counters safely.
///
/// The error text that goes with it (in [`DomainError`]) is free-form and never becomes a label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ErrorType {
    /// The body is not valid JSON.
    InvalidJson,
    /// A frame that must be text is not valid UTF-8.
    InvalidUtf8,
    /// The frame layout names a frame the message does not have.
    MissingFrame,
    /// The message is larger than the configured limit.
    TooLarge,
    /// A transform or custom domain rejected the event.
    TransformFailed,
    /// A sink could not write the event.
    WriteFailed,
    /// The ZeroMQ socket reported an error while receiving.
    ReceiveFailed,
}

impl ErrorType {
    /// Every error type, in the order of [`ErrorType::index`].
    pub const ALL: [ErrorType; 7] = [
        ErrorType::InvalidJson,
        ErrorType::InvalidUtf8,
        ErrorType::MissingFrame,
        ErrorType::TooLarge,
        ErrorType::TransformFailed,
        ErrorType::WriteFailed,
        ErrorType::ReceiveFailed,
    ];

    /// How many error types there are.
    pub const COUNT: usize = Self::ALL.len();

    /// The snake_case name used in `/stats`, `/metrics`, logs and the dead-letter file.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorType::InvalidJson => "invalid_json",
            ErrorType::InvalidUtf8 => "invalid_utf8",
            ErrorType::MissingFrame => "missing_frame",
            ErrorType::TooLarge => "too_large",
            ErrorType::TransformFailed => "transform_failed",
            ErrorType::WriteFailed => "write_failed",
            ErrorType::ReceiveFailed => "receive_failed",
        }
    }

    /// Position in [`ErrorType::ALL`]; used to index per-type counters without hashing.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// Parses a name produced by [`ErrorType::as_str`].
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

impl fmt::Display for ErrorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failure of one domain on one message: a typed reason and a human-readable text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error_type}: {message}")]
pub struct DomainError {
    /// The closed-set reason, used for counting.
    pub error_type: ErrorType,
    /// What went wrong, for the dead-letter entry and the logs.
    pub message: String,
}

impl DomainError {
    /// Builds an error of type `error_type` with text `message`.
    pub fn new(error_type: ErrorType, message: impl Into<String>) -> Self {
        Self {
            error_type,
            message: message.into(),
        }
    }
}

/// What a domain decided about an event it handled successfully.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Pass the event on to the next domain.
    Forward,
    /// Drop the event on purpose; it is counted as `filtered`, not as a failure.
    Filter,
}

/// What [`Domain::flush`] did with a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flush {
    /// Nothing to do at batch end; no flush is recorded.
    Skipped,
    /// The batch was written out; the time it took is recorded as `<name>.flush`.
    Done,
}

/// One stage of the pipeline.
///
/// The orchestrator runs each domain in its own task, feeds it batches of events from a bounded
/// queue, times every [`Domain::handle`] call, records successes and typed errors with the
/// monitor, sends failed events to the dead-letter output and forwarded ones to the next domain,
/// and tracks completion. An implementation only decides what happens to one event.
///
/// ```
/// use zeropipe::domain::{Domain, DomainError, ErrorType, Verdict};
/// use zeropipe::event::Event;
///
/// /// Drops events whose body has `"debug": true`, rejects non-object bodies.
/// struct DropDebug;
///
/// impl Domain for DropDebug {
///     fn name(&self) -> &str {
///         "drop_debug"
///     }
///
///     fn handle(&mut self, event: &mut Event) -> Result<Verdict, DomainError> {
///         let Some(body) = event.body().as_object() else {
///             return Err(DomainError::new(ErrorType::TransformFailed, "body is not an object"));
///         };
///         if body.get("debug").and_then(|v| v.as_bool()) == Some(true) {
///             return Ok(Verdict::Filter);
///         }
///         Ok(Verdict::Forward)
///     }
/// }
/// ```
pub trait Domain: Send + 'static {
    /// The domain's name in monitor keys (`<name>.handle`) and logs.
    fn name(&self) -> &str;

    /// Handles one event, possibly changing it.
    ///
    /// # Errors
    ///
    /// A [`DomainError`] fails this one message: it is counted under the error's type and
    /// dead-lettered with its original frames; the pipeline keeps running.
    fn handle(&mut self, event: &mut Event) -> Result<Verdict, DomainError>;

    /// Called after each batch with the events that [`Domain::handle`] forwarded, before they
    /// move on. A sink writes them out here and returns [`Flush::Done`]; its time and errors
    /// are recorded as `<name>.flush`.
    ///
    /// # Errors
    ///
    /// A [`DomainError`] fails every event of the batch.
    fn flush(
        &mut self,
        events: &[Event],
    ) -> impl Future<Output = Result<Flush, DomainError>> + Send {
        let _ = events;
        async { Ok(Flush::Skipped) }
    }

    /// Called once when the input has ended and the last batch was flushed.
    ///
    /// # Errors
    ///
    /// The error is logged and reported; nothing is left to fail by then.
    fn close(&mut self) -> impl Future<Output = Result<(), DomainError>> + Send {
        async { Ok(()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_type_names_round_trip_and_index_matches_order() {
        for (i, t) in ErrorType::ALL.into_iter().enumerate() {
            assert_eq!(t.index(), i);
            assert_eq!(ErrorType::parse(t.as_str()), Some(t));
        }
        assert_eq!(ErrorType::parse("nope"), None);
    }
}
