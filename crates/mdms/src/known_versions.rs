//! What a store knows of the stored versions of one interval or register key while it
//! classifies a delivery (new, duplicate or revision): the same rules on every engine
//! (SQLite and PostgreSQL load the versions their own way, then classify with this).

/// The versions known for one key: the latest version with its value, quality and
/// collection, and every stored (value, quality). The first pair is held inline: nearly
/// every key has one version.
#[derive(Debug, Clone)]
pub(crate) struct KnownVersions {
    /// Highest version number.
    pub latest: u32,
    /// Value of the highest version.
    pub latest_value: f64,
    /// Quality of the highest version.
    pub latest_quality: u32,
    /// Collection of the highest version (`None` for estimates and edits).
    pub latest_collection: Option<i64>,
    first: (f64, u32),
    more: Vec<(f64, u32)>,
    /// First value a collection session delivered, to spot conflicting deliveries.
    first_delivered: Option<f64>,
    /// True when collection sessions delivered two different values.
    pub conflicting: bool,
}

impl KnownVersions {
    pub(crate) fn new(version: u32, value: f64, quality: u32, collection: Option<i64>) -> Self {
        KnownVersions {
            latest: version,
            latest_value: value,
            latest_quality: quality,
            latest_collection: collection,
            first: (value, quality),
            more: Vec::new(),
            first_delivered: collection.map(|_| value),
            conflicting: false,
        }
    }

    pub(crate) fn add(&mut self, version: u32, value: f64, quality: u32, collection: Option<i64>) {
        if version > self.latest {
            self.latest = version;
            self.latest_value = value;
            self.latest_quality = quality;
            self.latest_collection = collection;
        }
        self.more.push((value, quality));
        if collection.is_some() {
            match self.first_delivered {
                None => self.first_delivered = Some(value),
                Some(v) if v != value => self.conflicting = true,
                Some(_) => {}
            }
        }
    }

    /// True when a version with an equal value (numerically, so -0.0 equals 0.0) and equal
    /// quality is stored.
    pub(crate) fn holds(&self, value: f64, quality: u32) -> bool {
        std::iter::once(&self.first).chain(&self.more).any(|&(v, q)| v == value && q == quality)
    }
}
