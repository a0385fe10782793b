### Mensajes de error en español: las mismas claves y variables que en/errors.ftl.

## Errors, by API error code (`err_` and the code)

err_invalid_request = Ese paso ha caducado o el formulario estaba incompleto. Empiece de nuevo.
err_unknown_client = El servicio de inicio de sesión no conoce esta aplicación.
err_payload_too_large = Lo que ha enviado es demasiado grande.
err_invalid_credentials = Organización, nombre de usuario o contraseña incorrectos.
err_session_invalid = Su sesión ha terminado. Vuelva a iniciar sesión.
err_session_revoked = Su sesión ha terminado porque la verificación en dos pasos ahora es obligatoria. Vuelva a iniciar sesión para configurarla.
err_flow_expired = Este inicio de sesión ha caducado o ha tenido demasiados códigos incorrectos. Vuelva a iniciar sesión.
err_invalid_code = Ese código no es correcto.
err_attempts_left = { $n ->
    [one] Le queda { $n } intento.
   *[other] Le quedan { $n } intentos.
}
err_forbidden = No tiene acceso a esta página.
err_two_step_unsupported_client = Esta aplicación todavía no admite la verificación en dos pasos. Inicie sesión en la web o consulte a su administrador.
err_two_step_not_available = La verificación en dos pasos no está disponible para esta cuenta.
err_step_up_required = Primero confirme que es usted.
err_not_found = No encontrado.
err_addon_unavailable = El complemento de verificación en dos pasos no está disponible para su organización. Pida a su proveedor que lo active.
err_addon_not_connected = Conecte primero el complemento de verificación en dos pasos.
err_two_step_disabled = Su organización no ha activado la verificación en dos pasos.
err_method_required = La verificación en dos pasos es obligatoria para usted, así que debe conservar al menos un método. Añada otro método antes de desactivar este.
err_conflict = Algo ha cambiado mientras tanto. Recargue la página e inténtelo de nuevo.
err_invalid_phone = Este no es un número de móvil válido. Use el formato internacional, por ejemplo +34 612 345 678.
err_two_step_locked = Demasiados códigos incorrectos: la verificación en dos pasos está bloqueada para su cuenta. Inténtelo de nuevo dentro de { $time }.
err_rate_limited = Demasiados intentos. Inténtelo de nuevo dentro de { $time }.
err_sms_rate_limited = Demasiados mensajes de texto. Inténtelo de nuevo dentro de { $time }.
err_sms_delivery_failed = No se ha podido enviar el mensaje de texto. Inténtelo de nuevo o use otro método.
err_unavailable = El servicio está ocupado. Inténtelo de nuevo en un momento.
err_internal = Algo ha salido mal por nuestra parte. Inténtelo de nuevo.
err_weak_password = Elija una contraseña más segura.
err_account_disabled = Esta cuenta está desactivada. Consulte a su administrador.
err_access_code_required = Primero se necesita un código de acceso de su administrador.
err_link_expired = Este enlace ha caducado o ya se ha usado. Pida uno nuevo a su administrador.

## Durations

seconds = { $n ->
    [one] { $n } segundo
   *[other] { $n } segundos
}
minutes = { $n ->
    [one] { $n } minuto
   *[other] { $n } minutos
}
