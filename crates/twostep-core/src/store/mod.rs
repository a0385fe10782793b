//! The storage the domain needs, one trait per concern — [`OrgStore`], [`AccountStore`],
//! [`DeviceStore`], [`SessionStore`], [`FlowStore`], [`MethodStore`], [`SmsStore`],
//! [`LimitStore`], [`AuditStore`], [`RotationStore`], [`PurgeStore`], [`HealthStore`] and
//! [`crate::oauth::OAuthStore`] — each in its module with the rows it reads and writes.
//! [`Store`] is all of them together: what the service holds, as `Arc<dyn Store>`.
//!
//! Implementations (SQLite, PostgreSQL) live in `twostep-store`; every method that guards a
//! limit is atomic in one statement or one transaction, so limits hold across replicas.

mod accounts;
mod audit;
mod devices;
mod flows;
mod health;
mod limits;
mod methods;
mod orgs;
mod purge;
mod rotation;
mod sessions;
mod sms;

pub use accounts::*;
pub use audit::*;
pub use devices::*;
pub use flows::*;
pub use health::*;
pub use limits::*;
pub use methods::*;
pub use orgs::*;
pub use purge::*;
pub use rotation::*;
pub use sessions::*;
pub use sms::*;

/// Apps and their tokens (SPEC §13), a concern of its own in [`crate::oauth`].
pub use crate::oauth::OAuthStore;

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was broken (e.g. an organisation slug taken).
    #[error("already exists: {0}")]
    Conflict(String),
    /// The database could not be reached in time.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A value the database cannot hold, e.g. text with a NUL character on PostgreSQL: the
    /// request's input is at fault, not the database.
    #[error("value not storable: {0}")]
    Invalid(String),
    #[error("storage error: {0}")]
    Other(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// [`Store`] and [`prelude`] from the one list of the concerns' traits.
macro_rules! store_of {
    ($($concern:ident),* $(,)?) => {
        /// Everything the service stores: every concern's trait, implemented by one type. A
        /// type that implements them all is a `Store`.
        pub trait Store: $($concern +)* Send + Sync + 'static {}

        impl<T: $($concern +)* Send + Sync + 'static> Store for T {}

        /// Every store trait, for calling store methods on a concrete store (`SqlStore`)
        /// with one import; through `dyn Store` they need none.
        pub mod prelude {
            pub use super::{Store, $($concern),*};
        }
    };
}

store_of!(
    OrgStore,
    AccountStore,
    DeviceStore,
    SessionStore,
    FlowStore,
    MethodStore,
    SmsStore,
    LimitStore,
    AuditStore,
    RotationStore,
    PurgeStore,
    HealthStore,
    OAuthStore,
);
