//! The [`Store`] of both backends: the webhooks go to the backend's writers (`batch.rs`,
//! `sqlite.rs`, `postgres.rs`); migrations, flow versions and the dashboard's queries run on one
//! sqlx `Any` pool with the statements written once.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor, Row};

use super::admin::AdminStore;
use super::batch::Writers;
use super::dialect::Dialect;
use super::health::WriteTrouble;
use super::sql_admin::SqlAdmin;
use super::stats::StoreStats;
use super::{postgres, sql, sqlite, Store, StoreError, StoredKey, Work};

/// A store: writers for the webhooks, a pool for everything else.
pub(crate) struct SqlStore {
    pub(crate) admin: SqlAdmin,
    pub(crate) writers: Arc<Writers>,
    pub(crate) local: Local,
}

/// What a backend keeps beside the database connections.
pub(crate) enum Local {
    /// The database file: its WAL checkpointer and the free space where it is.
    Sqlite(sqlite::Files),
    /// Nothing: the server's disk is PostgreSQL's business.
    Postgres,
}

/// Opens the pool of `dialect` at `url`; each new connection runs the dialect's session settings.
pub(crate) async fn open_pool(url: &str, dialect: &'static Dialect) -> Result<AnyPool, StoreError> {
    sqlx::any::install_default_drivers();
    let options: AnyConnectOptions = url.parse()?;
    let pool = AnyPoolOptions::new()
        .max_connections(dialect.pool_connections)
        .acquire_timeout(dialect.acquire_timeout)
        .after_connect(move |conn, _| {
            Box::pin(async move {
                for statement in dialect.session {
                    (&mut *conn).execute(*statement).await?;
                }
                Ok(())
            })
        })
        .connect_with(options)
        .await?;
    Ok(pool)
}

#[async_trait]
impl Store for SqlStore {
    fn submit(&self, work: Box<dyn Work>) {
        self.writers.submit(work);
    }

    fn submit_retrying(&self, work: Box<dyn Work>, give_up_after: Duration) {
        self.writers.submit_retrying(work, give_up_after);
    }

    async fn write_health(&self) -> Option<WriteTrouble> {
        let trouble = self.writers.health(Duration::from_secs(2)).await;
        match &self.local {
            Local::Sqlite(files) => trouble.or_else(|| files.health()),
            Local::Postgres => trouble,
        }
    }

    async fn setup_warnings(&self) -> Vec<&'static str> {
        match &self.local {
            Local::Sqlite(_) => Vec::new(),
            Local::Postgres => postgres::setup_warnings(&self.admin.pool).await,
        }
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        self.admin.dialect.migrator.run(&self.admin.pool).await?;
        Ok(())
    }

    async fn register_flow_version(
        &self,
        name: &str,
        version: &str,
        source: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(sql::REGISTER_FLOW_VERSION)
            .bind(version)
            .bind(name)
            .bind(now_ms)
            .bind(source)
            .execute(&self.admin.pool)
            .await?;
        Ok(())
    }

    async fn keep_privacy_key(
        &self,
        key: &StoredKey,
        now_ms: i64,
    ) -> Result<StoredKey, StoreError> {
        sqlx::query(sql::KEEP_PRIVACY_KEY)
            .bind(&key.key_check)
            .bind(key.generated_key.as_deref())
            .bind(now_ms)
            .execute(&self.admin.pool)
            .await?;
        let row = sqlx::query(sql::PRIVACY_KEY)
            .fetch_one(&self.admin.pool)
            .await?;
        Ok(StoredKey {
            key_check: row.try_get("key_check")?,
            generated_key: row.try_get("generated_key")?,
        })
    }

    async fn close(&self) {
        self.writers.close().await;
        if let Local::Sqlite(files) = &self.local {
            files.before_close(&self.admin.pool).await;
        }
        self.admin.pool.close().await;
    }

    fn stats(&self) -> Option<StoreStats> {
        let writers = self.writers.stats();
        Some(StoreStats {
            queue_depth: self.writers.queue_depth(),
            batch_size: writers.batch_size.snapshot(),
            transaction_seconds: writers.transaction_seconds.snapshot(),
            commit_seconds: writers.commit_seconds.snapshot(),
            wal: match &self.local {
                Local::Sqlite(files) => Some(files.wal_stats()),
                Local::Postgres => None,
            },
        })
    }

    fn admin(&self) -> Option<Arc<dyn AdminStore>> {
        Some(Arc::new(self.admin.clone()))
    }

    fn records_api(&self) -> Option<Arc<dyn super::records_api::RecordsApi>> {
        Some(Arc::new(self.admin.clone()))
    }

    fn outbox(&self) -> Option<Arc<dyn super::outbox::Outbox>> {
        Some(Arc::new(self.admin.clone()))
    }
}
