## Text messages (SPEC §5). The WebOTP line `@host #code` is added after a blank line;
## `sms.templates` in the configuration can replace this line per language.

sms_code = { $code } is your { $issuer } verification code. Do not share it with anyone.

## Emails (SPEC §12), in the organisation's language: a greeting, one line on what
## happened, and the footer. `$method` is the kind of method: totp, sms, webauthn, or another.

email_hello = Hello { $name },
email_footer =
    If this was not you, tell your administrator at once.

    — { $organization }

email_method_enabled_subject = 2-Step Verification method added
email_method_enabled = { $method ->
    [totp] An authenticator app was added to your 2-Step Verification.
    [sms] Text messages to your phone were added to your 2-Step Verification.
    [webauthn] A security key or passkey was added to your 2-Step Verification.
   *[other] A verification method was added to your 2-Step Verification.
}
email_method_removed_subject = 2-Step Verification method removed
email_method_removed = { $method ->
    [totp] The authenticator app was removed from your 2-Step Verification.
    [sms] Text messages to your phone were removed from your 2-Step Verification.
    [webauthn] A security key or passkey was removed from your 2-Step Verification.
   *[other] A verification method was removed from your 2-Step Verification.
}
email_recovery_codes_regenerated_subject = New recovery codes
email_recovery_codes_regenerated = New recovery codes were made for your account; the old ones no longer work.
email_recovery_code_used_subject = A recovery code was used
email_recovery_code_used = A recovery code was used to sign in to your account.
email_password_changed_subject = Your password was changed
email_password_changed = The password of your account was changed.
email_two_step_reset_subject = Your 2-Step Verification was reset
email_two_step_reset = An administrator removed every 2-Step Verification method from your account.
email_second_step_locked_subject = 2-Step Verification locked
email_second_step_locked = Too many wrong codes were entered for your account: its second step is locked for a while.
email_setup_link_subject = Choose your password
email_setup_link =
    Open this link to choose your password (it works once, until { $expires_at }):

    { $url }
