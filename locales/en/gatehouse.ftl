# Gatehouse: every sentence a person sees, in English. This file is the
# reference: every other language has the same keys, and a key missing
# there falls back to this file. Operators override any key per language
# with `ui.translations_dir` (README, "Languages and branding").

## The login page

sign-in = Sign in
sign-in-to = Sign in to { $client }
phone-label = Phone number
phone-help = We will text you a code to sign in.
send-code = Send code
code-label = Code from the text message
verify = Sign in
resend = Send a new code
change-number = Use another number
remember-me = Keep me signed in on this device
cancel = Cancel
# NIST SP 800-63B 5.2.10: SMS is a restricted authenticator; say why in
# one sentence where people choose.
risk-notice = A text message can be intercepted or redirected to another phone; an authenticator app or a passkey stays on your own device, and a passkey cannot be phished.
use-app = Use an authenticator app instead
sign-in-with-passkey = Sign in with a passkey
add-passkey = Sign in faster next time with a passkey
app-code-label = Code from your authenticator app
text-me-instead = Text me a code instead
app-codes-dead = Too many wrong codes. For your security, start again or have a code sent by text.
app-code-used = This code was used already. Wait for the next code in your app and type that one.
app-code-for = Signing in as { $phone }.
code-sent = We sent a code to { $phone }. It is valid for a few minutes.
wrong-code =
    { $attempts ->
        [one] That code is not right. You have 1 try left.
       *[other] That code is not right. You have { $attempts } tries left.
    }
resend-wait = A code was sent moments ago: please use it. You can ask for a new code in { $wait }.
too-many-codes = Too many codes were requested. Please try again in { $wait }.
too-many-failures = Too many wrong codes were entered for this number. Please try again in { $wait }.
time-left = Please finish within { $wait }; after that this page expires.
time-almost-up = This sign-in page is about to expire: if the code does not work, go back to the app and start again.

## Waits, used inside other messages as { $wait }

wait-seconds =
    { $n ->
        [one] 1 second
       *[other] { $n } seconds
    }
wait-minutes =
    { $n ->
        [one] 1 minute
       *[other] { $n } minutes
    }
wait-hours =
    { $n ->
        [one] 1 hour
       *[other] { $n } hours
    }

## What the person typed

phone-empty = Please enter a phone number.
phone-not-a-number = That does not look like a phone number.
phone-needs-country = Please include the country code, starting with + (for example +44 7911 123456).
phone-invalid-for-country = That number is not valid for its country. Please check it.
code-empty = Please enter the code from the text message.
code-not-digits = The code is made of digits only.
code-length = The code has { $digits } digits.

## The offer of another method after a sign-in by SMS

offer-title = Sign in more safely next time
set-up-app = Set up an authenticator app
not-now = Not now
app-title = Add an authenticator app
app-scan = Scan this code with your authenticator app (for example Google Authenticator, Microsoft Authenticator, 1Password or Aegis), then type the 6-digit code it shows.
app-qr-alt = QR code for your authenticator app
app-secret-label = Cannot scan? Type this key into the app instead:
app-confirm = Add the app
app-added-title = Authenticator app added
app-added = Next time you sign in, you can type a code from the app instead of waiting for a text message.
continue = Continue
offer-expired = This page has expired. Go back to the app: you are signed in.

## Errors shown in the form

wrong-code-dead = Too many wrong codes. For your security this code no longer works: send a new code.
code-expired = This code has expired or was already used. Send a new code.
account-disabled = This account cannot sign in. Please contact support.
country-not-served = We cannot send codes to phone numbers in this country.
number-type-not-served = We cannot send codes to this kind of number. Please use a mobile number.
sending-refused = We cannot send a code right now. Please try again later.
directory-down = We cannot check your account right now. Nothing is lost: please try again in a minute.
code-service-down = We cannot send or check codes right now. Nothing is lost: please try again in a minute.
bot-check-failed = We could not confirm that a person is asking for this code. Complete the check below, then send the code again.
pow-working = Your browser is doing a short check that a person is here.
pow-done = Check done.
needs-javascript = Before a code is sent, this page checks that a person is asking, and that needs JavaScript: turn it on for this site and reload the page.
something-wrong = Something went wrong on our side. Please try again.

## Passkeys (answers the page's script shows)

passkey-not-accepted = This passkey was not accepted.
passkey-expired = This passkey request has expired: try again.
passkey-sign-in-expired = This sign-in has expired.
passkey-try-again = Please try again.
passkey-bad-request = Not a passkey request.
passkey-form-expired = This form has expired: reload the page.
passkey-not-offered = Passkeys are not offered here.
passkey-offer-expired = This offer has expired.

## The consent page

consent-title = Allow access: { $client }
consent-intro = { $client } would like to:
consent-allow = Allow
consent-deny = Deny
consent-remember = Remember my decision for this app
consent-choose = Choose what to share
consent-required = (required)
not-set = (not set)
scope-openid = Know who you are
scope-openid-shares = Shares an identifier for your account
scope-profile = See your name
scope-profile-shares = Shares your name
scope-email = See your email address
scope-email-shares = Shares your email address
scope-phone = See your phone number
scope-phone-shares = Shares your phone number
scope-address = See your postal address
scope-address-shares = Shares your postal address
scope-offline_access = Stay signed in when you are not using it
scope-offline_access-shares = Keeps access until you sign out
scope-other = Use the permission “{ $scope }”
scope-other-shares = Gives the access the app asked for

## Signing out

logout-title = Sign out
logout-from = Sign out of { $client }
logout-yes = Yes, sign me out
logout-no = No, stay signed in
logout-question = Do you want to sign out?
still-signed-in = You are still signed in. You can close this page.
logged-out = You are signed out. You can close this page.

## Error pages

error-title = Something went wrong
start-again = Go back to the app and start again.
missing-challenge = This page must be opened from an app's sign-in button. Go back to the app and start again.
unknown-challenge = This sign-in link has expired or was already used. Go back to the app and start again.
form-expired = This form has expired, or it was opened in another browser or with cookies blocked. Go back to the app and start again.
bad-form = The form was not filled in the way we expected. Please try again.
hydra-down = The sign-in service is not reachable right now. Please try again in a minute.
csrf-cause-other-tab = The sign-in was started in another tab or window, or in another browser.
csrf-cause-cookies = Your browser blocks cookies for this site: allow them and try again.
csrf-cause-old-page = The page was opened from an old bookmark or the back button.
try-again-button = Try again
address-too-long = This address is too long to be a sign-in link. Go back to the app and start again.
sign-in-paused = We cannot save your sign-in right now. Nothing was sent or used up: please try again in a minute.
authorization-server-down = The sign-in service is restarting or not reachable right now. Please try again in a moment.
back-to-app = Return to the app instead
start-again-button = Start again
challenge-expired = This sign-in took too long and has expired. Nothing was lost: start again.
not-found = There is no page at this address.
error-code = Error code:

## Hydra's error codes in plain words

oauth-access-denied = Access was denied.
oauth-login-required = You need to sign in first.
oauth-consent-required = Your permission is needed first.
oauth-client-misconfigured = The app is not set up correctly for sign-in.
oauth-bad-request = The app sent a sign-in request we cannot handle.
oauth-request-forbidden = The sign-in could not be checked. This happens when it was started in another tab or browser, or when cookies are blocked.
oauth-other = The sign-in could not be completed.

## The text message. { $code } is required; { $app } is `sms.app_name`.

sms-code = Your { $app } sign-in code is { $code }

## Step-up to a passkey (`acr_values`) and the account page

# The client asked for a phishing-resistant sign-in (`acr_values`).
passkey-only = This app asks you to sign in with a passkey: a text message or an app code is not enough here.
passkey-only-help = If you have no passkey yet, sign in to another app first and add one when we offer it, or add one on your account page.
passkey-required-title = A passkey is needed
passkey-required = This app only accepts a sign-in with a passkey, and there is no passkey for this account. Sign in to another app by text message first and add a passkey when we offer it; then try again.
back-to-app-button = Back to the app
account-title = Your sign-in methods
account-intro = The passkeys and authenticator apps you can sign in with. Name them so you know which is which; remove one you no longer have.
account-not-signed-in = You did not sign in, so your sign-in methods are not shown.
account-sign-in-expired = This sign-in has expired or was started in another browser. Open the account page again.
no-methods = You have no passkey or authenticator app yet: you sign in with a code by text message.
kind-app = Authenticator app
kind-app-pending = Authenticator app (set-up not finished)
kind-passkey = Passkey
never = never
method-name-label = Name
rename = Rename
remove = Remove
method-renamed = Renamed.
method-removed = Removed. It can no longer sign you in.
no-such-method = There is no such sign-in method on your account.
last-way-in = This is your last way to sign in, so it cannot be removed. Add another passkey or app first.
bad-method-name = A name needs 1 to 60 characters.
texts-to = You can also sign in with a code texted to { $phone }.
added-on = added { $day }
last-used = last used { $day }
