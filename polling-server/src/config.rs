//! [`Config`]: flags with environment fallbacks (DESIGN §8).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line (for Promtail/Loki).
    Json,
}

/// The server's settings: each flag falls back to an environment variable,
/// so a compose file can configure it with environment alone.
#[derive(Clone, Debug, Parser)]
#[command(
    name = "polling-server",
    version,
    about = "The polling reference server"
)]
pub struct Config {
    /// The address to listen on.
    #[arg(
        long,
        env = "POLLING_LISTEN",
        default_value = "127.0.0.1:8080",
        value_name = "ADDR"
    )]
    pub listen: SocketAddr,

    /// The browser app's directory, served at `/` [default: `frontend` in the
    /// working directory, if present].
    #[arg(long, env = "POLLING_FRONTEND_DIR", value_name = "DIR")]
    pub frontend_dir: Option<PathBuf>,

    /// Log line format.
    #[arg(long, env = "POLLING_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// The most bytes a request body may have.
    #[arg(long, env = "POLLING_BODY_LIMIT", default_value_t = crate::DEFAULT_BODY_LIMIT, value_name = "BYTES")]
    pub body_limit: u64,

    /// Seconds to let requests in flight finish after SIGINT/SIGTERM.
    #[arg(
        long,
        env = "POLLING_SHUTDOWN_GRACE",
        default_value_t = 10,
        value_name = "SECONDS"
    )]
    pub shutdown_grace: u64,
}

impl Config {
    /// The browser app's directory: the configured one, which must exist, or
    /// `./frontend` when present.
    ///
    /// # Errors
    ///
    /// A one-line message naming the setting when the configured directory
    /// is missing.
    pub fn frontend_dir(&self) -> Result<Option<PathBuf>, String> {
        match &self.frontend_dir {
            Some(dir) if dir.is_dir() => Ok(Some(dir.clone())),
            Some(dir) => Err(format!(
                "--frontend-dir (POLLING_FRONTEND_DIR): {} is not a directory",
                dir.display()
            )),
            None => {
                let default = PathBuf::from("frontend");
                Ok(default.is_dir().then_some(default))
            }
        }
    }

    /// How long shutdown waits for requests in flight.
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_have_the_documented_defaults() {
        let config = Config::try_parse_from(["polling-server"]).unwrap();
        assert_eq!(config.listen, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(config.log_format, LogFormat::Text);
        assert_eq!(config.body_limit, 16 * 1024);
    }

    #[test]
    fn a_bad_listen_address_is_refused_naming_the_flag() {
        let error = Config::try_parse_from(["polling-server", "--listen", "nowhere"]).unwrap_err();
        assert!(error.to_string().contains("--listen"), "{error}");
    }

    #[test]
    fn a_missing_frontend_dir_is_an_error_naming_the_setting() {
        let config =
            Config::try_parse_from(["polling-server", "--frontend-dir", "/definitely/not/here"])
                .unwrap();
        assert!(config
            .frontend_dir()
            .unwrap_err()
            .contains("--frontend-dir"));
    }
}
