## Mensajes de texto (SPEC §5). La línea WebOTP `@host #código` se añade tras una línea
## en blanco; `sms.templates` en la configuración puede sustituir esta línea.

sms_code = { $code } es su código de verificación de { $issuer }. No lo comparta con nadie.

## Correos electrónicos (SPEC §12), en el idioma de la organización. `$method`: totp, sms u otro.

email_hello = Hola, { $name }:
email_footer =
    Si no ha sido usted, avise de inmediato a su administrador.

    — { $organization }

email_method_enabled_subject = Método de verificación en dos pasos añadido
email_method_enabled = { $method ->
    [totp] Se ha añadido una aplicación de autenticación a su verificación en dos pasos.
    [sms] Se han añadido los mensajes de texto a su teléfono a su verificación en dos pasos.
    [webauthn] Se ha añadido una llave de seguridad o llave de acceso a su verificación en dos pasos.
   *[other] Se ha añadido un método a su verificación en dos pasos.
}
email_method_removed_subject = Método de verificación en dos pasos eliminado
email_method_removed = { $method ->
    [totp] Se ha eliminado la aplicación de autenticación de su verificación en dos pasos.
    [sms] Se han eliminado los mensajes de texto a su teléfono de su verificación en dos pasos.
    [webauthn] Se ha eliminado una llave de seguridad o llave de acceso de su verificación en dos pasos.
   *[other] Se ha eliminado un método de su verificación en dos pasos.
}
email_recovery_codes_regenerated_subject = Nuevos códigos de recuperación
email_recovery_codes_regenerated = Se han generado nuevos códigos de recuperación para su cuenta; los anteriores ya no funcionan.
email_recovery_code_used_subject = Se ha usado un código de recuperación
email_recovery_code_used = Se ha usado un código de recuperación para iniciar sesión en su cuenta.
email_password_changed_subject = Se ha cambiado su contraseña
email_password_changed = Se ha cambiado la contraseña de su cuenta.
email_two_step_reset_subject = Se ha restablecido su verificación en dos pasos
email_two_step_reset = Un administrador ha eliminado todos los métodos de verificación en dos pasos de su cuenta.
email_second_step_locked_subject = Verificación en dos pasos bloqueada
email_second_step_locked = Se han introducido demasiados códigos incorrectos en su cuenta: el segundo paso está bloqueado durante un tiempo.
email_setup_link_subject = Elija su contraseña
email_setup_link =
    Abra este enlace para elegir su contraseña (funciona una vez, hasta { $expires_at }):

    { $url }
