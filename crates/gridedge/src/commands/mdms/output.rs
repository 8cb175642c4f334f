//! Output of the `gridedge mdms` subcommands: pretty JSON (the default) or a plain-text
//! table for a terminal.

use clap::{Args, ValueEnum};
use serde_json::Value;

/// How a subcommand prints its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Pretty-printed JSON on stdout (stable field names, UTC instants in RFC 3339).
    Json,
    /// An aligned text table for reading in a terminal.
    Table,
}

/// The `--format` option shared by every `gridedge mdms` subcommand.
#[derive(Debug, Clone, Args)]
pub struct OutputArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Json)]
    pub format: OutputFormat,
}

impl OutputArgs {
    /// Prints `json` as JSON, or the table `table` builds from it.
    pub fn print(&self, json: &Value, table: impl FnOnce(&Value) -> String) -> anyhow::Result<()> {
        let text = match self.format {
            OutputFormat::Json => serde_json::to_string_pretty(json)?,
            OutputFormat::Table => table(json),
        };
        crate::commands::emit(text.trim_end())
    }
}

/// A text table: a header row and rows of cells, columns padded to their widest cell.
#[derive(Debug, Clone, Default)]
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headers.
    pub fn new(headers: &[&str]) -> Table {
        Table { headers: headers.iter().map(|h| h.to_string()).collect(), rows: Vec::new() }
    }

    /// Appends a row (missing cells print empty, extra cells are dropped).
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The table as text, one line per row, columns separated by two spaces.
    pub fn render(&self) -> String {
        let n = self.headers.len();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |cells: &[String]| {
            let padded: Vec<String> = (0..n)
                .map(|i| {
                    let cell = cells.get(i).map(String::as_str).unwrap_or("");
                    let width = widths.get(i).copied().unwrap_or(0);
                    format!("{cell:<width$}")
                })
                .collect();
            padded.join("  ").trim_end().to_string()
        };
        let mut out = vec![line(&self.headers)];
        out.extend(self.rows.iter().map(|r| line(r)));
        out.join("\n")
    }
}

/// A JSON value as a table cell: strings bare, numbers rounded to 3 decimals, null empty.
pub fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i.to_string(),
            (None, Some(f)) => format!("{f:.3}"),
            _ => n.to_string(),
        },
        Value::Bool(b) => b.to_string(),
        other => other.to_string(),
    }
}
