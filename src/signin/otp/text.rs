//! The text message a code goes out in.

use crate::config::DEFAULT_TEMPLATE;
use crate::domain::OtpCode;
use crate::i18n;
use crate::sms;

/// What a text message says: `sms.template` when the operator changed it,
/// else `sms-code` in the request's language; then the autofill line.
#[derive(Debug)]
pub(super) struct MessageText {
    pub template: String,
    pub app_name: String,
    pub autofill_host: Option<String>,
}

impl MessageText {
    pub fn render(&self, code: &OtpCode) -> String {
        let mut text = if self.template == DEFAULT_TEMPLATE {
            i18n::sms_text(&self.app_name, code.digits())
        } else {
            sms::render(&self.template, &self.app_name, code)
        };
        if let Some(host) = &self.autofill_host {
            // The origin-bound one-time code format (WICG sms-one-time-codes):
            // the last line, after a blank one.
            text.push_str(&format!("\n\n@{host} #{}", code.digits()));
        }
        text
    }
}
