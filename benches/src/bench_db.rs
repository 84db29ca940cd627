//! [`BenchDb`]: a throwaway PostgreSQL database for one benchmark run.

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
// Database names cannot be bound; this one is `polling_bench_`, a name from
// the benchmark's source and a process id, so it is safe to splice in.
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, PgPool};

/// A fresh, migrated database, dropped by [`BenchDb::drop_database`].
#[derive(Debug)]
pub struct BenchDb {
    /// The server's maintenance database, where this one is created and dropped.
    admin: PgConnectOptions,
    /// This database's name.
    name: String,
    /// Options connecting to this database.
    options: PgConnectOptions,
    /// The server's URL, as `DATABASE_URL` gave it.
    url: String,
}

impl BenchDb {
    /// Creates and migrates `polling_bench_<name>_<pid>`.
    ///
    /// # Panics
    ///
    /// When PostgreSQL cannot be reached: a benchmark has nothing to measure then.
    pub async fn create(name: &str) -> Self {
        let url = std::env::var("DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let admin = PgConnectOptions::from_str(&url).expect("DATABASE_URL is a PostgreSQL URL");
        let name = format!("polling_bench_{name}_{}", std::process::id());
        let mut conn = admin.connect().await.expect("connect to DATABASE_URL");
        sqlx::query(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name}")))
            .execute(&mut conn)
            .await
            .expect("drop a leftover bench database");
        sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("create the bench database");
        conn.close().await.ok();
        let options = admin.clone().database(&name);
        let db = Self {
            admin,
            name,
            options,
            url,
        };
        let pool = db.pool(1).await;
        polling_store_postgres::migrate(&pool)
            .await
            .expect("migrate the bench database");
        pool.close().await;
        db
    }

    /// A pool of up to `size` connections to this database, waiting as long
    /// as it takes for a connection (the benchmarks overload it on purpose).
    pub async fn pool(&self, size: u32) -> PgPool {
        PgPoolOptions::new()
            .max_connections(size)
            .acquire_timeout(std::time::Duration::from_secs(120))
            .connect_with(self.options.clone())
            .await
            .expect("connect to the bench database")
    }

    /// This database's URL, for a server process to connect to: the
    /// server's URL with this database in its path.
    pub fn url(&self) -> String {
        let server = self.url.split('?').next().unwrap_or(&self.url);
        let base = server.rsplit_once('/').map_or(server, |(base, _)| base);
        format!("{base}/{}", self.name)
    }

    /// Drops the database (closing whatever is still connected).
    pub async fn drop_database(self) {
        if let Ok(mut conn) = self.admin.connect().await {
            let drop = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
            sqlx::query(AssertSqlSafe(drop))
                .execute(&mut conn)
                .await
                .ok();
        }
    }
}
