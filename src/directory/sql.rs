//! `kind = "sql"`: an existing database, read-only. (Being built.)

use serde_json::{Map, Value};

use super::{DirectoryError, Key};
use crate::config::SqlDirectoryConfig;

pub struct SqlDirectory {}

impl SqlDirectory {
    pub fn new(_config: &SqlDirectoryConfig) -> Result<SqlDirectory, DirectoryError> {
        Err(DirectoryError::Unavailable(
            "directory.kind = \"sql\" is not available yet".into(),
        ))
    }

    pub(super) async fn fetch(
        &self,
        _key: Key<'_>,
    ) -> Result<Option<Map<String, Value>>, DirectoryError> {
        Ok(None)
    }
}
