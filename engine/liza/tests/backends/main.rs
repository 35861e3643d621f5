//! Stories run against SQLite and PostgreSQL, several instances on one database, and the
//! server staying up (SIGTERM, kill -9, database outage). PostgreSQL: 127.0.0.1:5432,
//! database `test` (.ci/postgres.sh starts it); every test makes and drops its own database.

mod health;
mod helpers;
mod loadtest;
mod logins;
mod logs;
mod operator;
mod staying_up;
mod stories;
mod tls;
mod two_instances;
