### Error messages in English, by the error code of the API (SPEC): `err_` and the code.

## Errors, by API error code (`err_` and the code)

err_invalid_request = That step has expired or the form was incomplete. Please start again.
err_unknown_client = This app is not known to the sign-in service.
err_payload_too_large = What you sent is too large.
err_invalid_credentials = Wrong organization, username or password.
err_session_invalid = Your session has ended. Please sign in again.
err_session_revoked = Your session ended because 2-Step Verification is now required. Sign in again to set it up.
err_flow_expired = This sign-in has expired or had too many wrong codes. Please sign in again.
err_invalid_code = That code is not correct.
err_attempts_left = { $n ->
    [one] { $n } attempt left.
   *[other] { $n } attempts left.
}
err_forbidden = You do not have access to this page.
err_two_step_unsupported_client = This app does not support 2-Step Verification yet. Sign in on the web, or ask your administrator.
err_two_step_not_available = 2-Step Verification is not available for this account.
err_step_up_required = Confirm it's you first.
err_not_found = Not found.
err_addon_unavailable = The 2-Step Verification add-on is not available for your organization. Ask your provider to activate it.
err_addon_not_connected = Connect the 2-Step Verification add-on first.
err_two_step_disabled = Your organization has not turned on 2-Step Verification.
err_method_required = 2-Step Verification is required for you, so you must keep at least one method. Add another method before disabling this one.
err_conflict = Something changed in the meantime. Reload the page and try again.
err_invalid_phone = This is not a valid mobile number. Use the international form, for example +351 912 345 678.
err_two_step_locked = Too many wrong codes: 2-Step Verification is locked for your account. Try again in { $time }.
err_rate_limited = Too many attempts. Try again in { $time }.
err_sms_rate_limited = Too many text messages. Try again in { $time }.
err_sms_delivery_failed = The text message could not be sent. Try again, or use another method.
err_unavailable = The service is busy. Try again in a moment.
err_internal = Something went wrong on our side. Please try again.
err_weak_password = Choose a stronger password.
err_account_disabled = This account is disabled. Ask your administrator.
err_access_code_required = An access code from your administrator is needed first.
err_link_expired = This link has expired or was already used. Ask your administrator for a new one.

## Durations

seconds = { $n ->
    [one] { $n } second
   *[other] { $n } seconds
}
minutes = { $n ->
    [one] { $n } minute
   *[other] { $n } minutes
}
