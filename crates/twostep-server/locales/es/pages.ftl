### Las páginas de Twostep en español. Las mismas claves y variables que en/pages.ftl.

## User management (SPEC §12)

users_title = Usuarios
contact = Contacto
username_taken = Este nombre de usuario ya existe.
users_find = Buscar usuarios
users_search = Nombre, usuario o correo electrónico
users_search_button = Buscar
users_any = Cualquiera
users_enrolled = Con verificación
users_not_enrolled = Sin verificación
users_required_not_enrolled = Obligatoria, sin verificación
users_csv = Descargar el informe de adopción (CSV)
users_name = Nombre
users_email = Correo electrónico
users_last_sign_in = Último inicio de sesión
users_disabled = Desactivado
users_active = Activo
users_waiting_code = A la espera de un código de acceso
users_next = Página siguiente
users_create = Crear usuario
users_contact_kind = Contacto externo (sin perfil, nunca 2SV)
users_edit = Perfil
users_save = Guardar
users_actions = Acciones
users_enable = Activar
users_disable = Desactivar (cierra todas las sesiones)
users_delete = Eliminar
users_password_reset = Restablecer contraseña
users_access_code = Emitir un código de acceso
users_confirm_first = Confirme que es usted
user_created = Usuario creado
password_reset_done = Contraseña restablecida
access_code_issued = Código de acceso
users_shown_once = Entregue esto a { $user } en persona: solo se muestra ahora. (Un usuario con correo electrónico también ha recibido el enlace por correo).
users_expires = Funciona una vez, hasta { $at }.
flash_user_disabled = El usuario se ha desactivado y se han cerrado todas sus sesiones.
flash_user_deleted = El usuario se ha eliminado.

## Accounts and passwords (SPEC §12)

setup_title = Elija su contraseña
setup_intro = Elija una contraseña para { $username }.
setup_expired_title = Este enlace ya no funciona
new_password = Nueva contraseña
current_password = Contraseña actual
confirm_password = Repita la nueva contraseña
set_password = Establecer contraseña
change_password = Cambiar contraseña
password_rules = Al menos 8 caracteres. Que no sea una contraseña común, su nombre de usuario ni el nombre de la organización.
passwords_differ = Las dos contraseñas no coinciden.
flash_password_changed = Se ha cambiado su contraseña. Se han cerrado sus otras sesiones.
weak_too_short = Use al menos 8 caracteres.
weak_too_long = Use como máximo 256 caracteres.
weak_common = Es una de las contraseñas más comunes.
weak_contains_username = Contiene su nombre de usuario.
weak_contains_organization = Contiene el nombre de la organización.
access_code_title = Introduzca su código de acceso
access_code_intro = Se ha restablecido su verificación en dos pasos. Pida a su administrador un código de acceso para configurarla de nuevo.
access_code = Código de acceso

## Layout (`language_name`: the language, in itself, for the switch on every page)

language_name = Español
skip = Saltar al contenido
home = Inicio
security_settings = Configuración de seguridad
admin_security = Seguridad y cumplimiento

## Apps (OpenID Connect)

apps = Aplicaciones
apps_hint = Aplicaciones que autentican a sus usuarios a través de Twostep con OpenID Connect.
app_registered = Registrada:
app_secret_once = Copie ahora el secreto de cliente en la aplicación: solo se muestra esta vez.
app_name = Nombre
app_slug = Nombre corto (a-z, 0-9, -)
app_type = Tipo
app_public = Pública (PKCE)
app_confidential = Confidencial
app_redirect_uris = URI de redirección
app_redirect_hint = Una por línea, exactas: https, o http en localhost.
app_actions = Acciones
app_new_secret = Nuevo secreto
app_delete = Quitar
no_apps = Todavía no hay aplicaciones registradas.
app_register = Registrar una aplicación
app_public_choice = Aplicación pública (de una sola página o móvil: sin secreto, PKCE)
app_no_two_step = Esta aplicación no admite la verificación en dos pasos (sus inicios de sesión se rechazan cuando se aplica)
app_no_two_step_short = No admitida

## Common

continue_title = Sesión iniciada
set_up_later = Configurar más tarde
devices_section = Dispositivos recordados
device = Dispositivo
device_until = Recordado hasta
device_forget = Olvidar
flash_device_forgotten = Ese dispositivo volverá a pedir un código.
remember_device = No volver a preguntar en este dispositivo durante { $n } días
enroll_by_note = Su organización le pide que configure la verificación en dos pasos antes del
continue_to_app = Continuar a la aplicación
sign_out = Cerrar sesión
language = Idioma
error_title = Algo ha salido mal
form_invalid = No se ha podido leer el formulario. Vuelva atrás e inténtelo de nuevo.
csrf_failed = Este formulario ha caducado o no procede de este sitio. Vuelva atrás, recargue la página e inténtelo de nuevo.
back_to_sign_in = Volver al inicio de sesión
back_to_settings = Volver a la configuración de seguridad
back_home = Ir a la página de inicio
continue = Continuar
cancel = Cancelar
yes = Sí
no = No
none = Ninguno
never = Nunca

## Sign-in

sign_in_title = Iniciar sesión
organization = Organización
username = Nombre de usuario
password = Contraseña
sign_in = Iniciar sesión
demo_hint = Modo de demostración: las cuentas y sus contraseñas se mostraron al arrancar el servidor.
demo_outbox = Bandeja de salida de SMS de la demostración
outbox_intro = Mensajes de texto enviados por la demostración, los más recientes primero.
outbox_empty = Todavía no hay mensajes de texto.
outbox_to = Para { $to } a las { $at }

## Second step

two_step_title = Verificación en dos pasos
two_step_intro = Para proteger su cuenta, introduzca un código de verificación.
code_totp_label = Código de su aplicación de autenticación
code_totp_hint = Abra su aplicación de autenticación e introduzca el código de 6 dígitos que muestra para Twostep.
code_sms_label = Código del mensaje de texto
code_sms_hint = Enviamos un código de 6 dígitos a su número de teléfono { $hint }.
code_recovery_label = Código de recuperación
code_recovery_hint = Introduzca uno de los códigos de recuperación que guardó al configurar la verificación en dos pasos. Cada código funciona una sola vez.
send_code = Enviar código
send_new_code = Enviar un código nuevo
verify = Verificar
other_methods = Otras formas de verificar
use_totp = Usar su aplicación de autenticación
use_sms = Recibir un mensaje de texto
use_recovery = Usar un código de recuperación
cancel_sign_in = Cancelar y empezar de nuevo

## Enrollment

enroll_title = Configurar la verificación en dos pasos
enroll_intro = Su organización exige la verificación en dos pasos. Elija cómo quiere recibir los códigos; podrá añadir la otra forma más tarde en la configuración de seguridad.
method_totp = Aplicación de autenticación
method_totp_desc = Google Authenticator, Microsoft Authenticator o cualquier aplicación que muestre códigos de 6 dígitos. Funciona sin cobertura móvil.
method_sms = Mensaje de texto (SMS)
method_sms_desc = Le enviamos un código a su teléfono móvil cada vez que inicia sesión.
choose_totp = Usar una aplicación de autenticación
choose_sms = Usar mensajes de texto
totp_title = Configurar su aplicación de autenticación
totp_step1 = Abra su aplicación de autenticación y elija añadir una cuenta.
totp_step2 = Escanee este código QR o escriba a mano la clave de abajo.
totp_step3 = Introduzca el código de 6 dígitos que muestra la aplicación.
qr_alt = Código QR para añadir Twostep a su aplicación de autenticación
secret_label = Clave para introducirla a mano
secret_hint = Basada en el tiempo, 6 dígitos, cada 30 segundos.
copy = Copiar
copied = Copiado
code_label = Código de 6 dígitos
verify_enable = Verificar y activar
sms_title = Configurar los mensajes de texto
phone_label = Número de teléfono móvil
phone_hint = En formato internacional, por ejemplo +34 612 345 678.
add_number = Añadir número
sms_sent_to = Hemos enviado un código a { $hint }. Es válido durante 5 minutos.
change_number = Usar otro número
other_method = Elegir otro método

## Recovery codes

recovery_title = Guarde sus códigos de recuperación
recovery_intro = Si pierde el teléfono, cada uno de estos códigos le permite iniciar sesión una vez. Guárdelos en un lugar seguro: solo se muestran ahora.
download = Descargar como texto
recovery_continue = Ya los he guardado — continuar
recovery_file = Códigos de recuperación de Twostep para { $user } en { $org }. Cada código funciona una sola vez.

## Home

home_title = Ha iniciado sesión
signed_in_as = Sesión iniciada como { $user } en { $org }.
profile = Perfil
app = Aplicación
verified_session = Esta sesión ha superado la verificación en dos pasos.
password_session = Esta sesión se abrió solo con la contraseña.
session_expires = La sesión caduca
revoke_notice = La verificación en dos pasos ahora es obligatoria para usted: esta sesión termina a las { $at }. Cierre la sesión y vuelva a iniciarla para configurarla.

## Settings

settings_title = Seguridad
two_step_section = Verificación en dos pasos
two_step_explain = Después de la contraseña, introduce también un código de su teléfono; así, quien conozca su contraseña no podrá entrar.
two_step_required_note = Su organización le exige la verificación en dos pasos.
status_on = Activada
status_off = Desactivada
enabled_since = Activado el { $at }
enable = Activar
disable = Desactivar
recovery_section = Códigos de recuperación
recovery_remaining = Le quedan { $n } de 10 códigos de recuperación.
recovery_none = Los códigos de recuperación se crean cuando activa su primer método.
recovery_new = Crear códigos nuevos
sessions_section = Dónde tiene la sesión iniciada
session_started = Inicio
session_last_seen = Última actividad
session_ip = Dirección IP
session_kind = Inicio de sesión
this_session = Esta sesión
with_two_step = Con verificación en dos pasos
password_only = Solo contraseña

## Step-up

step_up_title = Confirme que es usted
step_up_intro = Por su seguridad, introduzca un código de verificación antes de cambiar su verificación en dos pasos.

## Administration

card_two_step = Verificación en dos pasos
addon = Complemento
addon_unavailable = No disponible: pida a su proveedor que active el complemento de verificación en dos pasos.
addon_available = Disponible: conéctelo para empezar.
addon_connected = Conectado
connect = Conectar
status = Estado
enabled = Activada
disabled = Desactivada
enable_two_step = Activar
disable_two_step = Desactivar
policy = Política
policy_optional = Opcional: cada usuario puede activarla.
mandatory_org = Obligatoria para toda la organización
make_mandatory_org = Hacer obligatoria para todos
make_optional_org = Hacer opcional para todos
profiles = Perfiles
profile_col = Perfil
mandatory = Obligatoria
optional = Opcional
users_col = Usuarios
enrolled_col = Configurada
make_mandatory = Hacer obligatoria
make_optional = Hacer opcional
grace_note = Cuando la verificación en dos pasos pasa a ser obligatoria para un perfil, las sesiones de sus usuarios que no la tengan terminan tras un periodo de gracia.
report = Informe de adopción
kind_col = Tipo
required_col = Obligatoria
methods_col = Métodos
last_two_step_col = Última verificación en dos pasos
kind_user = Usuario
kind_contact = Contacto
reset = Restablecer 2SV
reset_title = ¿Restablecer la verificación en dos pasos de { $user }?
reset_explain = Esto elimina su aplicación de autenticación, su número de teléfono y sus códigos de recuperación, y cierra todas sus sesiones de inmediato. Si la verificación en dos pasos es obligatoria para este usuario, tendrá que configurarla de nuevo en su próximo inicio de sesión.
reset_confirm = Sí, restablecer la verificación en dos pasos
audit = Eventos de seguridad recientes
audit_at = Hora (UTC)
audit_type = Evento
audit_actor = Por
audit_subject = Cuenta
audit_outcome = Resultado

## Messages after a redirect

flash_signed_out = Ha cerrado la sesión.
flash_method_enabled = Método activado.
flash_method_disabled = Método desactivado.
flash_recovery_used = Ha iniciado sesión con un código de recuperación: le quedan { $n }.
flash_sms_sent = Código enviado. Puede tardar unos segundos en llegar.
flash_session_ended = Se ha cerrado esa sesión.
flash_reset_done = Se ha restablecido la verificación en dos pasos.
flash_saved = Guardado.
flash_admin_confirmed = Gracias. Durante los próximos 15 minutos puede hacer cambios que reducen la protección.
flash_confirmed = Gracias. Puede cambiar su verificación en dos pasos durante los próximos 15 minutos.

## Llaves de seguridad, passkeys y métodos con nombre (SPEC §14); los ajustes de implantación

method_webauthn = Llave de seguridad o passkey
your_methods = Tus métodos
method_name = Nombre
method_type = Tipo
method_added = Añadido
method_last_used = Último uso
remove = Quitar
name_optional = Nombre (opcional)
add_totp = Añadir otra aplicación de autenticación
key_add = Añadir una llave de seguridad o passkey
key_desc = Una llave de seguridad (USB o NFC) o una passkey en este dispositivo: el segundo paso más fuerte, inmune al phishing.
key_unsupported = Este navegador no puede usar llaves de seguridad aquí (necesita JavaScript y WebAuthn).
key_failed = La llave de seguridad no respondió. Inténtalo de nuevo.
use_key = Usar una llave de seguridad o passkey
key_hint = Inserta o toca tu llave de seguridad, o usa la passkey de este dispositivo.
key_start = Usar llave de seguridad
rollout = Implantación
enrollment_period_label = Días para configurar la verificación en dos pasos cuando pasa a ser obligatoria (0: en el próximo inicio de sesión)
remember_device_label = Días en que un navegador puede omitir el segundo paso (0: nunca)
save = Guardar
