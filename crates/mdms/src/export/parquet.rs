//! Apache Parquet export of interval data with quality and version (cargo feature
//! `parquet`; Snappy-compressed, one row group per ~1 M rows, one record batch per meter
//! channel).
//!
//! Schema (Arrow types; every column non-null):
//!
//! | column | type | content |
//! |---|---|---|
//! | `meter` | Utf8 | meter id |
//! | `reading_type` | Utf8 | gridedge reading type name |
//! | `interval_end` | Timestamp(second, "UTC") | interval end |
//! | `value` | Float64 | value in `unit` (bulk quantity for Wh/varh) |
//! | `unit` | Utf8 | `Wh`, `varh`, `W`, `V`, `A` |
//! | `quality` | UInt32 | quality flags |
//! | `version` | UInt32 | stored version |
//! | `collected_at` | Timestamp(millisecond, "UTC") | collection session of the version |
//! | `ingested_at` | Timestamp(millisecond, "UTC") | store commit time of the version |
//! | `source` | Utf8 | who delivered the version |

use std::fs::File;
use std::io::Write;
use std::sync::Arc;

use arrow_array::{
    Array, ArrayRef, Float64Array, RecordBatch, StringArray, TimestampMillisecondArray, TimestampSecondArray,
    UInt32Array,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use jiff::Timestamp;
use model::{MeterId, QualityFlags, ReadingType};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use super::rows::channel_rows;
use super::{ExportError, ExportQuery, IntervalRow};
use crate::MeterDataStore;

/// The Arrow schema of the interval Parquet file (see the module docs).
pub fn interval_schema() -> SchemaRef {
    let utc = || Some(Arc::<str>::from("UTC"));
    Arc::new(Schema::new(vec![
        Field::new("meter", DataType::Utf8, false),
        Field::new("reading_type", DataType::Utf8, false),
        Field::new("interval_end", DataType::Timestamp(TimeUnit::Second, utc()), false),
        Field::new("value", DataType::Float64, false),
        Field::new("unit", DataType::Utf8, false),
        Field::new("quality", DataType::UInt32, false),
        Field::new("version", DataType::UInt32, false),
        Field::new("collected_at", DataType::Timestamp(TimeUnit::Millisecond, utc()), false),
        Field::new("ingested_at", DataType::Timestamp(TimeUnit::Millisecond, utc()), false),
        Field::new("source", DataType::Utf8, false),
    ]))
}

fn parquet_error(e: impl std::fmt::Display) -> ExportError {
    ExportError::Parquet(e.to_string())
}

/// Writes the interval rows `query` selects as a Parquet file to `out` and returns the
/// number of rows.
///
/// Errors: [`ExportError::Store`], [`ExportError::Parquet`] (which includes output errors).
pub fn write_intervals_parquet<W: Write + Send>(
    store: &(impl MeterDataStore + ?Sized),
    query: &ExportQuery,
    out: W,
) -> Result<u64, ExportError> {
    let schema = interval_schema();
    let properties = WriterProperties::builder().set_compression(Compression::SNAPPY).build();
    let mut writer = ArrowWriter::try_new(out, schema.clone(), Some(properties)).map_err(parquet_error)?;
    let mut written = 0;
    let mut rows = Vec::new();
    for meter in query.resolve_meters(store)? {
        for reading_type in query.resolve_reading_types() {
            rows.clear();
            channel_rows(store, &meter, reading_type, query, &mut rows)?;
            if rows.is_empty() {
                continue;
            }
            writer.write(&record_batch(&schema, &rows)?).map_err(parquet_error)?;
            written += rows.len() as u64;
        }
    }
    writer.close().map_err(parquet_error)?;
    Ok(written)
}

/// The rows as one Arrow record batch of [`interval_schema`].
///
/// Errors: [`ExportError::Parquet`] when Arrow refuses the columns.
pub fn record_batch(schema: &SchemaRef, rows: &[IntervalRow]) -> Result<RecordBatch, ExportError> {
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.meter.0.as_str()))),
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.reading_type.as_str()))),
        Arc::new(
            TimestampSecondArray::from_iter_values(rows.iter().map(|r| r.interval_end.as_second()))
                .with_timezone("UTC"),
        ),
        Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r.value))),
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.reading_type.unit().symbol()))),
        Arc::new(UInt32Array::from_iter_values(rows.iter().map(|r| r.quality.0))),
        Arc::new(UInt32Array::from_iter_values(rows.iter().map(|r| r.version))),
        Arc::new(
            TimestampMillisecondArray::from_iter_values(rows.iter().map(|r| r.collected_at.as_millisecond()))
                .with_timezone("UTC"),
        ),
        Arc::new(
            TimestampMillisecondArray::from_iter_values(rows.iter().map(|r| r.ingested_at.as_millisecond()))
                .with_timezone("UTC"),
        ),
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.source.as_str()))),
    ];
    RecordBatch::try_new(schema.clone(), columns).map_err(parquet_error)
}

/// Reads an interval Parquet file written by [`write_intervals_parquet`] back into rows.
///
/// Errors: [`ExportError::Parquet`] for a file that is not Parquet, has another schema, or
/// holds nulls, unknown reading type names or out-of-range timestamps.
pub fn read_intervals_parquet(file: File) -> Result<Vec<IntervalRow>, ExportError> {
    let reader =
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(parquet_error)?.build().map_err(parquet_error)?;
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch.map_err(parquet_error)?;
        if batch.schema().fields() != interval_schema().fields() {
            return Err(ExportError::Parquet(format!("unexpected schema {:?}", batch.schema())));
        }
        let strings = |i: usize| column::<StringArray>(&batch, i);
        let (meters, types, sources) = (strings(0)?, strings(1)?, strings(9)?);
        let ends = column::<TimestampSecondArray>(&batch, 2)?;
        let values = column::<Float64Array>(&batch, 3)?;
        let qualities = column::<UInt32Array>(&batch, 5)?;
        let versions = column::<UInt32Array>(&batch, 6)?;
        let collected = column::<TimestampMillisecondArray>(&batch, 7)?;
        let ingested = column::<TimestampMillisecondArray>(&batch, 8)?;
        for i in 0..batch.num_rows() {
            let reading_type: ReadingType = types.value(i).parse().map_err(parquet_error)?;
            rows.push(IntervalRow {
                meter: MeterId(meters.value(i).to_string()),
                reading_type,
                interval_end: Timestamp::from_second(ends.value(i)).map_err(parquet_error)?,
                value: values.value(i),
                quality: QualityFlags(qualities.value(i)),
                version: versions.value(i),
                collected_at: Timestamp::from_millisecond(collected.value(i)).map_err(parquet_error)?,
                ingested_at: Timestamp::from_millisecond(ingested.value(i)).map_err(parquet_error)?,
                source: sources.value(i).to_string(),
            });
        }
    }
    Ok(rows)
}

/// Column `i` of `batch` as array type `A`, refusing nulls.
fn column<A: Array + 'static>(batch: &RecordBatch, i: usize) -> Result<&A, ExportError> {
    let array = batch.columns().get(i).ok_or_else(|| ExportError::Parquet(format!("column {i} missing")))?;
    if array.null_count() > 0 {
        return Err(ExportError::Parquet(format!("column {i} holds nulls")));
    }
    array.as_any().downcast_ref::<A>().ok_or_else(|| ExportError::Parquet(format!("column {i} has another type")))
}
