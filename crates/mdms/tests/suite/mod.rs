//! The backend-independent conformance suite of `MeterDataStore`.
//!
//! A backend's test file declares `#[macro_use] mod suite;` and calls
//! `store_conformance_tests!(fresh_store);` with a function returning an empty store; it
//! calls [`durability_cases::acknowledged_data_survives_reopen`] with a function that
//! reopens one persistent database.
#![allow(dead_code)]

pub mod batch_cases;
pub mod consumption_cases;
pub mod durability_cases;
pub mod fixtures;
pub mod ingest_cases;
pub mod properties;
pub mod query_cases;

/// Expands to one `#[test]` per conformance case (and the property tests), each on a
/// fresh store from `$fresh()`.
macro_rules! store_conformance_tests {
    ($fresh:path) => {
        store_conformance_tests!(@cases $fresh;
            ingest_cases::same_reading_twice_is_stored_once,
            ingest_cases::repeated_key_within_one_reading,
            ingest_cases::changed_value_becomes_a_new_version,
            ingest_cases::changed_quality_alone_becomes_a_new_version,
            ingest_cases::quality_flags_and_values_round_trip,
            ingest_cases::register_reads_are_idempotent_and_versioned,
            ingest_cases::refused_readings_write_nothing,
            ingest_cases::collection_metadata_is_recorded_once_per_session,
            ingest_cases::source_is_recorded_per_version,
            batch_cases::duplicates_inside_one_batch,
            batch_cases::duplicates_across_batches,
            batch_cases::revisions_inside_a_batch_follow_batch_order,
            batch_cases::refused_reading_rolls_back_the_whole_batch,
            batch_cases::an_empty_batch_writes_nothing,
            batch_cases::batch_source_is_recorded,
            query_cases::range_queries_are_half_open,
            query_cases::register_ranges_are_half_open,
            query_cases::history_of_an_unknown_interval_is_empty,
            query_cases::last_interval_end_tracks_the_newest_interval,
            query_cases::meters_are_listed_in_order,
            consumption_cases::spring_forward_day_has_23_hours,
            consumption_cases::fall_back_day_has_25_hours,
            consumption_cases::missing_bounding_value_is_missing_not_zero,
            consumption_cases::daily_consumption_uses_latest_versions_and_flags,
            consumption_cases::daily_consumption_needs_a_cumulative_reading_type,
        );

        proptest::proptest! {
            #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

            #[test]
            fn any_order_and_duplication_of_consistent_readings_gives_the_same_state(
                case in crate::suite::properties::consistent_case()
            ) {
                crate::suite::properties::check_order_independence($fresh, &case)?;
            }

            #[test]
            fn conflicting_values_become_versions_in_order_of_first_delivery(
                case in crate::suite::properties::conflicting_case()
            ) {
                crate::suite::properties::check_version_semantics($fresh, &case)?;
            }

            #[test]
            fn batched_delivery_gives_the_same_counts_and_versions_as_one_by_one(
                case in crate::suite::properties::conflicting_case(),
                batch_sizes in proptest::collection::vec(1usize..6, 1..4),
            ) {
                crate::suite::batch_cases::check_batching_equivalence($fresh, &case, &batch_sizes)?;
            }
        }
    };
    (@cases $fresh:path; $($module:ident :: $case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                crate::suite::$module::$case(&mut $fresh());
            }
        )*
    };
}
