//! Development sender: one clearly marked line on stdout, code included.

use std::io::Write;

use super::SmsMessage;

pub(super) fn send(message: &SmsMessage<'_>) {
    let line = format!(
        "[gatehouse sms] to={} code={} message={:?}\n",
        message.phone,
        message.code.digits(),
        message.text
    );
    // One write call, so concurrent messages never interleave mid-line.
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(line.as_bytes());
    let _ = stdout.flush();
}
