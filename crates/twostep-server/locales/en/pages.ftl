### Twostep's pages in English: the reference every other language follows.
### `key = text`; `{ $name }` is a value the code fills in. Every language has the same
### keys and the same variables (a unit test in src/web/i18n.rs checks).

## User management (SPEC §12)

users_title = Users
contact = Contact
username_taken = This username is already taken.
users_find = Find users
users_search = Name, username or email
users_search_button = Search
users_any = Any
users_enrolled = Enrolled
users_not_enrolled = Not enrolled
users_required_not_enrolled = Required, not enrolled
users_csv = Download the enrollment report (CSV)
users_name = Display name
users_email = Email
users_last_sign_in = Last sign-in
users_disabled = Disabled
users_active = Active
users_waiting_code = Waiting for an access code
users_next = Next page
users_create = Create user
users_contact_kind = External contact (no profile, never 2SV)
users_edit = Profile
users_save = Save
users_actions = Actions
users_enable = Enable
users_disable = Disable (signs out everywhere)
users_delete = Delete
users_password_reset = Reset password
users_access_code = Issue an access code
users_confirm_first = Confirm it's you
user_created = User created
password_reset_done = Password reset
access_code_issued = Access code
users_shown_once = Give this to { $user } yourself: it is shown only now. (A user with an email address also got the link by email.)
users_expires = Works once, until { $at }.
flash_user_disabled = The user was disabled and signed out everywhere.
flash_user_deleted = The user was deleted.

## Accounts and passwords (SPEC §12)

setup_title = Choose your password
setup_intro = Choose a password for { $username }.
setup_expired_title = This link no longer works
new_password = New password
current_password = Current password
confirm_password = Repeat the new password
set_password = Set password
change_password = Change password
password_rules = At least 8 characters. Not a common password, your username or the organization's name.
passwords_differ = The two passwords are not the same.
flash_password_changed = Your password was changed. Your other sessions were ended.
weak_too_short = Use at least 8 characters.
weak_too_long = Use at most 256 characters.
weak_common = It is one of the most common passwords.
weak_contains_username = It contains your username.
weak_contains_organization = It contains the organization's name.
access_code_title = Enter your access code
access_code_intro = Your 2-Step Verification was reset. Ask your administrator for an access code to set it up again.
access_code = Access code

## Layout (`language_name`: the language, in itself, for the switch on every page)

language_name = English
skip = Skip to content
home = Home
security_settings = Security settings
admin_security = Security and compliance

## Apps (OpenID Connect)

apps = Apps
apps_hint = Apps that sign their users in through Twostep with OpenID Connect.
app_registered = Registered:
app_secret_once = Copy the client secret into the app now: it is shown only this once.
app_name = Name
app_slug = Short name (a-z, 0-9, -)
app_type = Type
app_public = Public (PKCE)
app_confidential = Confidential
app_redirect_uris = Redirect URIs
app_redirect_hint = One per line, exact: https, or http on localhost.
app_actions = Actions
app_new_secret = New secret
app_delete = Remove
no_apps = No apps are registered yet.
app_register = Register an app
app_public_choice = Public app (single-page or mobile: no secret, PKCE)
app_no_two_step = This app cannot do 2-Step Verification (its sign-ins are refused when 2SV applies)
app_no_two_step_short = Not supported

## Common

continue_title = Signed in
set_up_later = Set up later
devices_section = Remembered devices
device = Device
device_until = Remembered until
device_forget = Forget
flash_device_forgotten = That device will be asked for a code again.
remember_device = Don't ask again on this device for { $n } days
enroll_by_note = Your organisation asks you to set up 2-Step Verification by
continue_to_app = Continue to the app
sign_out = Sign out
language = Language
error_title = Something went wrong
form_invalid = The form could not be read. Go back and try again.
csrf_failed = This form has expired or did not come from this site. Go back, reload the page and try again.
back_to_sign_in = Back to sign in
back_to_settings = Back to security settings
back_home = Go to the home page
continue = Continue
cancel = Cancel
yes = Yes
no = No
none = None
never = Never

## Sign-in

sign_in_title = Sign in
organization = Organization
username = Username
password = Password
sign_in = Sign in
demo_hint = Demo mode: the accounts and their passwords were printed when the server started.
demo_outbox = Demo text message outbox
outbox_intro = Text messages sent by the demo, newest first.
outbox_empty = No text messages yet.
outbox_to = To { $to } at { $at }

## Second step

two_step_title = 2-Step Verification
two_step_intro = To keep your account safe, enter a verification code.
code_totp_label = Code from your authenticator app
code_totp_hint = Open your authenticator app and enter the 6-digit code it shows for Twostep.
code_sms_label = Code from the text message
code_sms_hint = We send a 6-digit code to your phone number { $hint }.
code_recovery_label = Recovery code
code_recovery_hint = Enter one of the recovery codes you saved when you set up 2-Step Verification. Each code works once.
send_code = Send code
send_new_code = Send a new code
verify = Verify
other_methods = Other ways to verify
use_totp = Use your authenticator app
use_sms = Get a text message
use_recovery = Use a recovery code
cancel_sign_in = Cancel and start again

## Enrollment

enroll_title = Set up 2-Step Verification
enroll_intro = Your organization requires 2-Step Verification. Choose how you want to get your codes; you can add the other way later in your security settings.
method_totp = Authenticator app
method_totp_desc = Google Authenticator, Microsoft Authenticator or any app that shows 6-digit codes. Works without mobile signal.
method_sms = Text message
method_sms_desc = We send a code to your mobile phone each time you sign in.
choose_totp = Use an authenticator app
choose_sms = Use text messages
totp_title = Set up your authenticator app
totp_step1 = Open your authenticator app and choose to add an account.
totp_step2 = Scan this QR code, or type the key below by hand.
totp_step3 = Enter the 6-digit code the app shows.
qr_alt = QR code to add Twostep to your authenticator app
secret_label = Key for manual entry
secret_hint = Time-based, 6 digits, every 30 seconds.
copy = Copy
copied = Copied
code_label = 6-digit code
verify_enable = Verify and enable
sms_title = Set up text messages
phone_label = Mobile phone number
phone_hint = In international form, for example +351 912 345 678.
add_number = Add number
sms_sent_to = We sent a code to { $hint }. It is valid for 5 minutes.
change_number = Use a different number
other_method = Choose another method

## Recovery codes

recovery_title = Save your recovery codes
recovery_intro = If you lose your phone, each of these codes lets you sign in once. Keep them somewhere safe: they are shown only now.
download = Download as text
recovery_continue = I have saved them — continue
recovery_file = Twostep recovery codes for { $user } at { $org }. Each code works once.

## Home

home_title = You are signed in
signed_in_as = Signed in as { $user } at { $org }.
profile = Profile
app = App
verified_session = This session passed 2-Step Verification.
password_session = This session was opened with a password only.
session_expires = Session expires
revoke_notice = 2-Step Verification is now required for you: this session ends at { $at }. Sign out and sign in again to set it up.

## Settings

settings_title = Security
two_step_section = 2-Step Verification
two_step_explain = After your password, you also enter a code from your phone, so someone who learns your password still cannot sign in.
two_step_required_note = Your organization requires 2-Step Verification for you.
status_on = On
status_off = Off
enabled_since = Enabled on { $at }
enable = Enable
disable = Disable
recovery_section = Recovery codes
recovery_remaining = { $n } of 10 recovery codes left.
recovery_none = Recovery codes are created when you enable your first method.
recovery_new = Create new codes
sessions_section = Where you are signed in
session_started = Started
session_last_seen = Last active
session_ip = IP address
session_kind = Sign-in
this_session = This session
with_two_step = With 2-Step Verification
password_only = Password only

## Step-up

step_up_title = Confirm it's you
step_up_intro = For your security, enter a verification code before changing your 2-Step Verification.

## Administration

card_two_step = 2-Step Verification
addon = Add-on
addon_unavailable = Not available: ask your provider to activate the 2-Step Verification add-on.
addon_available = Available: connect it to start.
addon_connected = Connected
connect = Connect
status = Status
enabled = Enabled
disabled = Disabled
enable_two_step = Enable
disable_two_step = Disable
policy = Policy
policy_optional = Optional: users may turn it on themselves.
mandatory_org = Mandatory for the entire organization
make_mandatory_org = Make mandatory for everyone
make_optional_org = Make optional for everyone
profiles = Profiles
profile_col = Profile
mandatory = Mandatory
optional = Optional
users_col = Users
enrolled_col = Enrolled
make_mandatory = Make mandatory
make_optional = Make optional
grace_note = When 2-Step Verification becomes mandatory for a profile, its users' sessions without it end after a grace period.
report = Enrollment report
kind_col = Type
required_col = Required
methods_col = Methods
last_two_step_col = Last 2-Step Verification
kind_user = User
kind_contact = Contact
reset = Reset 2SV
reset_title = Reset 2-Step Verification for { $user }?
reset_explain = This removes their authenticator app, phone number and recovery codes, and signs them out everywhere at once. If 2-Step Verification is mandatory for them, they set it up again at their next sign-in.
reset_confirm = Yes, reset 2-Step Verification
audit = Recent security events
audit_at = Time (UTC)
audit_type = Event
audit_actor = By
audit_subject = Account
audit_outcome = Outcome

## Messages after a redirect

flash_signed_out = You have signed out.
flash_method_enabled = Method enabled.
flash_method_disabled = Method disabled.
flash_recovery_used = You signed in with a recovery code: { $n } left.
flash_sms_sent = Code sent. It can take a few seconds to arrive.
flash_session_ended = That session was signed out.
flash_reset_done = 2-Step Verification was reset.
flash_saved = Saved.
flash_admin_confirmed = Thank you. For the next 15 minutes you can make changes that weaken protection.
flash_confirmed = Thank you. You can change your 2-Step Verification for the next 15 minutes.

## Security keys, passkeys and named methods (SPEC §14); the rollout settings

method_webauthn = Security key or passkey
your_methods = Your methods
method_name = Name
method_type = Type
method_added = Added
method_last_used = Last used
remove = Remove
name_optional = Name (optional)
add_totp = Add another authenticator app
key_add = Add a security key or passkey
key_desc = A security key (USB or NFC) or a passkey on this device: the strongest second step, immune to phishing.
key_unsupported = This browser cannot use security keys here (it needs JavaScript and WebAuthn).
key_failed = The security key did not answer. Try again.
use_key = Use a security key or passkey
key_hint = Insert or touch your security key, or use this device's passkey.
key_start = Use security key
rollout = Rollout
enrollment_period_label = Days to set up 2SV once it becomes mandatory (0: at the next sign-in)
remember_device_label = Days a browser may skip the second step (0: never)
save = Save
