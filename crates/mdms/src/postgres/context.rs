//! Error context for client calls, and the per-connection cache of prepared statements.

use std::collections::HashMap;

use postgres::types::ToSql;
use postgres::{GenericClient, Row, Statement};

use crate::StoreError;

/// Attaches a context string to client errors: `client.execute(..).context("inserting ...")?`.
pub(crate) trait PgContext<T> {
    /// Maps the client error to [`StoreError::Postgres`] with `context`.
    fn context(self, context: &'static str) -> Result<T, StoreError>;
}

impl<T> PgContext<T> for Result<T, postgres::Error> {
    fn context(self, context: &'static str) -> Result<T, StoreError> {
        self.map_err(|source| StoreError::Postgres { context, source })
    }
}

/// Query parameters as the client takes them.
pub(crate) type Params<'a> = [&'a (dyn ToSql + Sync)];

/// Statements prepared on one connection, by SQL text: each statement is parsed and
/// planned by the server once per connection, and each later use is one round trip.
#[derive(Default)]
pub(crate) struct Statements {
    prepared: HashMap<&'static str, Statement>,
}

impl std::fmt::Debug for Statements {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Statements").field("prepared", &self.prepared.len()).finish()
    }
}

/// A client (a connection or an open transaction) with the connection's statement cache.
pub(crate) struct Db<'a, C: GenericClient> {
    pub client: &'a mut C,
    pub statements: &'a mut Statements,
}

impl<C: GenericClient> Db<'_, C> {
    /// The prepared statement for `sql`, preparing it on first use.
    pub fn statement(&mut self, sql: &'static str) -> Result<Statement, StoreError> {
        if let Some(s) = self.statements.prepared.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql).context("preparing a statement")?;
        self.statements.prepared.insert(sql, s.clone());
        Ok(s)
    }

    /// Runs `sql` and returns its rows.
    pub fn query(
        &mut self,
        sql: &'static str,
        params: &Params<'_>,
        context: &'static str,
    ) -> Result<Vec<Row>, StoreError> {
        let s = self.statement(sql)?;
        self.client.query(&s, params).context(context)
    }

    /// Runs `sql` and returns its single row, if any.
    pub fn query_opt(
        &mut self,
        sql: &'static str,
        params: &Params<'_>,
        context: &'static str,
    ) -> Result<Option<Row>, StoreError> {
        let s = self.statement(sql)?;
        self.client.query_opt(&s, params).context(context)
    }

    /// Runs `sql` and returns its one row (an error when there is none).
    pub fn query_one(
        &mut self,
        sql: &'static str,
        params: &Params<'_>,
        context: &'static str,
    ) -> Result<Row, StoreError> {
        let s = self.statement(sql)?;
        self.client.query_one(&s, params).context(context)
    }

    /// Runs `sql` and returns the number of rows it changed.
    pub fn execute(
        &mut self,
        sql: &'static str,
        params: &Params<'_>,
        context: &'static str,
    ) -> Result<u64, StoreError> {
        let s = self.statement(sql)?;
        self.client.execute(&s, params).context(context)
    }
}

/// Reads column `idx` of `row`, as [`StoreError::Postgres`] with `context` on a type mismatch.
pub(crate) fn get<'r, T: postgres::types::FromSql<'r>>(
    row: &'r Row,
    idx: usize,
    context: &'static str,
) -> Result<T, StoreError> {
    row.try_get(idx).context(context)
}
