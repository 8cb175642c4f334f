//! Identifiers of network assets (their CIM `mRID`s or the utility's asset numbers).

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! asset_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $name(s.to_string())
            }
        }
    };
}

asset_id!(
    /// A feeder (medium-voltage circuit leaving a substation), e.g. "F12".
    FeederId
);
asset_id!(
    /// A distribution transformer, e.g. "T-4711".
    TransformerId
);
asset_id!(
    /// A water district metered area, e.g. "DMA-North".
    DmaId
);
