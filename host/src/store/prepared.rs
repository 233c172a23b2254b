//! PostgreSQL connections that prepare each statement once.
//!
//! The `postgres` client prepares a text query on every call: two round trips
//! per statement, and the server parses and plans it each time. A pooled
//! [`PgConn`] keeps the statements it prepared, by their SQL, so each later
//! use is one round trip. [`PgConn`] and [`Tx`] (a transaction on one) run
//! statements with the client's own method names.

use std::collections::HashMap;

use ::postgres::types::ToSql;
use ::postgres::{Client, Error, GenericClient, Row, Statement, Transaction};

type Params<'p> = &'p [&'p (dyn ToSql + Sync)];

/// A connection and the statements prepared on it (they live and die with
/// the connection: a broken one is dropped with its statements).
pub struct PgConn {
    pub client: Client,
    prepared: Prepared,
}

/// A transaction on a [`PgConn`], sharing its prepared statements.
pub struct Tx<'c> {
    tx: Transaction<'c>,
    prepared: &'c mut Prepared,
}

#[derive(Default)]
struct Prepared(HashMap<String, Statement>);

impl Prepared {
    fn get(&mut self, client: &mut impl GenericClient, sql: &str) -> Result<Statement, Error> {
        if let Some(statement) = self.0.get(sql) {
            return Ok(statement.clone());
        }
        let statement = client.prepare(sql)?;
        self.0.insert(sql.to_string(), statement.clone());
        Ok(statement)
    }
}

/// `execute`, `query`, `query_opt` and `query_one` through the cache.
macro_rules! prepared_methods {
    ($client:ident) => {
        pub fn execute(&mut self, sql: &str, params: Params<'_>) -> Result<u64, Error> {
            let statement = self.prepared.get(&mut self.$client, sql)?;
            self.$client.execute(&statement, params)
        }

        pub fn query(&mut self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, Error> {
            let statement = self.prepared.get(&mut self.$client, sql)?;
            self.$client.query(&statement, params)
        }

        pub fn query_opt(&mut self, sql: &str, params: Params<'_>) -> Result<Option<Row>, Error> {
            let statement = self.prepared.get(&mut self.$client, sql)?;
            self.$client.query_opt(&statement, params)
        }

        pub fn query_one(&mut self, sql: &str, params: Params<'_>) -> Result<Row, Error> {
            let statement = self.prepared.get(&mut self.$client, sql)?;
            self.$client.query_one(&statement, params)
        }
    };
}

impl PgConn {
    pub fn new(client: Client) -> PgConn {
        PgConn {
            client,
            prepared: Prepared::default(),
        }
    }

    prepared_methods!(client);

    pub fn transaction(&mut self) -> Result<Tx<'_>, Error> {
        Ok(Tx {
            tx: self.client.transaction()?,
            prepared: &mut self.prepared,
        })
    }
}

impl Tx<'_> {
    prepared_methods!(tx);

    pub fn commit(self) -> Result<(), Error> {
        self.tx.commit()
    }
}
