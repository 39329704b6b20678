//! `[jobs]`: the clean-up schedule.

use serde::{Deserialize, Serialize};

use super::ConfigError;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobsConfig {
    /// Cron expression with seconds: sec min hour day-of-month month day-of-week.
    /// Kept as text: the scheduler takes it as text.
    pub purge_schedule: String,
}

impl Default for JobsConfig {
    fn default() -> Self {
        JobsConfig {
            purge_schedule: "0 */5 * * * *".into(),
        }
    }
}

impl JobsConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let schedule = self.purge_schedule.as_str();
        if tokio_cron_scheduler::Job::new_async(schedule, |_, _| Box::pin(async {})).is_err() {
            return Err(ConfigError::key(
                "jobs.purge_schedule",
                format!(
                    "`{schedule}` is not a cron expression with seconds, e.g. \"0 */5 * * * *\""
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::config::tests::assert_names_key;

    #[test]
    fn the_purge_schedule_is_checked() {
        assert_names_key(
            "[jobs]\npurge_schedule = \"every day\"\n",
            "`jobs.purge_schedule`",
        );
    }
}
