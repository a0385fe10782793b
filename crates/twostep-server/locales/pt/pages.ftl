### As páginas do Twostep em português (de Portugal). As mesmas chaves e variáveis
### que en/pages.ftl.

## User management (SPEC §12)

users_title = Utilizadores
contact = Contacto
username_taken = Este nome de utilizador já existe.
users_find = Procurar utilizadores
users_search = Nome, utilizador ou email
users_search_button = Procurar
users_any = Qualquer
users_enrolled = Com verificação
users_not_enrolled = Sem verificação
users_required_not_enrolled = Obrigatória, sem verificação
users_csv = Descarregar o relatório de adesão (CSV)
users_name = Nome
users_email = Email
users_last_sign_in = Última entrada
users_disabled = Desativado
users_active = Ativo
users_waiting_code = À espera de código de acesso
users_next = Página seguinte
users_create = Criar utilizador
users_contact_kind = Contacto externo (sem perfil, nunca 2SV)
users_edit = Perfil
users_save = Guardar
users_actions = Ações
users_enable = Ativar
users_disable = Desativar (termina todas as sessões)
users_delete = Eliminar
users_password_reset = Repor palavra-passe
users_access_code = Emitir código de acesso
users_confirm_first = Confirme que é você
user_created = Utilizador criado
password_reset_done = Palavra-passe reposta
access_code_issued = Código de acesso
users_shown_once = Entregue isto a { $user } pessoalmente: só é mostrado agora. (Um utilizador com email também recebeu o endereço por email.)
users_expires = Funciona uma vez, até { $at }.
flash_user_disabled = O utilizador foi desativado e saiu de todas as sessões.
flash_user_deleted = O utilizador foi eliminado.

## Accounts and passwords (SPEC §12)

setup_title = Escolha a sua palavra-passe
setup_intro = Escolha uma palavra-passe para { $username }.
setup_expired_title = Este endereço já não funciona
new_password = Nova palavra-passe
current_password = Palavra-passe atual
confirm_password = Repita a nova palavra-passe
set_password = Definir palavra-passe
change_password = Alterar palavra-passe
password_rules = Pelo menos 8 caracteres. Não uma palavra-passe comum, o seu nome de utilizador ou o nome da organização.
passwords_differ = As duas palavras-passe não são iguais.
flash_password_changed = A sua palavra-passe foi alterada. As suas outras sessões foram terminadas.
weak_too_short = Use pelo menos 8 caracteres.
weak_too_long = Use no máximo 256 caracteres.
weak_common = É uma das palavras-passe mais comuns.
weak_contains_username = Contém o seu nome de utilizador.
weak_contains_organization = Contém o nome da organização.
access_code_title = Introduza o seu código de acesso
access_code_intro = A sua verificação em dois passos foi reposta. Peça ao seu administrador um código de acesso para a configurar de novo.
access_code = Código de acesso

## Layout (`language_name`: the language, in itself, for the switch on every page)

language_name = Português
skip = Saltar para o conteúdo
home = Início
security_settings = Definições de segurança
admin_security = Segurança e conformidade

## Apps (OpenID Connect)

apps = Aplicações
apps_hint = Aplicações que autenticam os seus utilizadores através do Twostep com OpenID Connect.
app_registered = Registada:
app_secret_once = Copie já o segredo do cliente para a aplicação: só é mostrado desta vez.
app_name = Nome
app_slug = Nome curto (a-z, 0-9, -)
app_type = Tipo
app_public = Pública (PKCE)
app_confidential = Confidencial
app_redirect_uris = URIs de redirecionamento
app_redirect_hint = Um por linha, exatos: https, ou http em localhost.
app_actions = Ações
app_new_secret = Novo segredo
app_delete = Remover
no_apps = Ainda não há aplicações registadas.
app_register = Registar uma aplicação
app_public_choice = Aplicação pública (página única ou móvel: sem segredo, PKCE)
app_no_two_step = Esta aplicação não suporta a verificação em dois passos (as entradas são recusadas quando se aplica)
app_no_two_step_short = Não suportada

## Common

continue_title = Sessão iniciada
set_up_later = Configurar mais tarde
devices_section = Dispositivos memorizados
device = Dispositivo
device_until = Memorizado até
device_forget = Esquecer
flash_device_forgotten = Esse dispositivo voltará a pedir um código.
remember_device = Não voltar a pedir neste dispositivo durante { $n } dias
enroll_by_note = A sua organização pede-lhe que configure a verificação em dois passos até
continue_to_app = Continuar para a aplicação
sign_out = Terminar sessão
language = Idioma
error_title = Algo correu mal
form_invalid = Não foi possível ler o formulário. Volte atrás e tente novamente.
csrf_failed = Este formulário expirou ou não veio deste site. Volte atrás, recarregue a página e tente novamente.
back_to_sign_in = Voltar ao início de sessão
back_to_settings = Voltar às definições de segurança
back_home = Ir para a página inicial
continue = Continuar
cancel = Cancelar
yes = Sim
no = Não
none = Nenhum
never = Nunca

## Sign-in

sign_in_title = Iniciar sessão
organization = Organização
username = Nome de utilizador
password = Palavra-passe
sign_in = Iniciar sessão
demo_hint = Modo de demonstração: as contas e as palavras-passe foram mostradas quando o servidor arrancou.
demo_outbox = Caixa de saída de SMS da demonstração
outbox_intro = Mensagens de texto enviadas pela demonstração, as mais recentes primeiro.
outbox_empty = Ainda não há mensagens de texto.
outbox_to = Para { $to } às { $at }

## Second step

two_step_title = Verificação em dois passos
two_step_intro = Para proteger a sua conta, introduza um código de verificação.
code_totp_label = Código da sua aplicação de autenticação
code_totp_hint = Abra a aplicação de autenticação e introduza o código de 6 dígitos que mostra para o Twostep.
code_sms_label = Código da mensagem de texto
code_sms_hint = Enviamos um código de 6 dígitos para o seu número { $hint }.
code_recovery_label = Código de recuperação
code_recovery_hint = Introduza um dos códigos de recuperação que guardou ao configurar a verificação em dois passos. Cada código só funciona uma vez.
send_code = Enviar código
send_new_code = Enviar um novo código
verify = Verificar
other_methods = Outras formas de verificar
use_totp = Usar a aplicação de autenticação
use_sms = Receber uma mensagem de texto
use_recovery = Usar um código de recuperação
cancel_sign_in = Cancelar e recomeçar

## Enrollment

enroll_title = Configurar a verificação em dois passos
enroll_intro = A sua organização exige a verificação em dois passos. Escolha como quer receber os códigos; pode adicionar a outra forma mais tarde nas definições de segurança.
method_totp = Aplicação de autenticação
method_totp_desc = Google Authenticator, Microsoft Authenticator ou qualquer aplicação que mostre códigos de 6 dígitos. Funciona sem rede móvel.
method_sms = Mensagem de texto (SMS)
method_sms_desc = Enviamos um código para o seu telemóvel sempre que inicia sessão.
choose_totp = Usar uma aplicação de autenticação
choose_sms = Usar mensagens de texto
totp_title = Configurar a aplicação de autenticação
totp_step1 = Abra a aplicação de autenticação e escolha adicionar uma conta.
totp_step2 = Leia este código QR, ou escreva a chave abaixo à mão.
totp_step3 = Introduza o código de 6 dígitos que a aplicação mostra.
qr_alt = Código QR para adicionar o Twostep à sua aplicação de autenticação
secret_label = Chave para introdução manual
secret_hint = Baseada no tempo, 6 dígitos, a cada 30 segundos.
copy = Copiar
copied = Copiado
code_label = Código de 6 dígitos
verify_enable = Verificar e ativar
sms_title = Configurar mensagens de texto
phone_label = Número de telemóvel
phone_hint = Em formato internacional, por exemplo +351 912 345 678.
add_number = Adicionar número
sms_sent_to = Enviámos um código para { $hint }. É válido durante 5 minutos.
change_number = Usar outro número
other_method = Escolher outro método

## Recovery codes

recovery_title = Guarde os seus códigos de recuperação
recovery_intro = Se perder o telemóvel, cada um destes códigos permite iniciar sessão uma vez. Guarde-os num lugar seguro: só são mostrados agora.
download = Transferir como texto
recovery_continue = Já os guardei — continuar
recovery_file = Códigos de recuperação do Twostep para { $user } em { $org }. Cada código funciona uma vez.

## Home

home_title = Sessão iniciada
signed_in_as = Sessão iniciada como { $user } em { $org }.
profile = Perfil
app = Aplicação
verified_session = Esta sessão passou a verificação em dois passos.
password_session = Esta sessão foi aberta apenas com a palavra-passe.
session_expires = A sessão expira
revoke_notice = A verificação em dois passos passou a ser obrigatória para si: esta sessão termina às { $at }. Termine a sessão e inicie-a novamente para a configurar.

## Settings

settings_title = Segurança
two_step_section = Verificação em dois passos
two_step_explain = Depois da palavra-passe, introduz também um código do seu telemóvel; assim, quem souber a sua palavra-passe não consegue entrar.
two_step_required_note = A sua organização exige-lhe a verificação em dois passos.
status_on = Ativo
status_off = Desativado
enabled_since = Ativado em { $at }
enable = Ativar
disable = Desativar
recovery_section = Códigos de recuperação
recovery_remaining = Restam { $n } de 10 códigos de recuperação.
recovery_none = Os códigos de recuperação são criados quando ativa o primeiro método.
recovery_new = Criar novos códigos
sessions_section = Onde tem sessão iniciada
session_started = Início
session_last_seen = Última atividade
session_ip = Endereço IP
session_kind = Início de sessão
this_session = Esta sessão
with_two_step = Com verificação em dois passos
password_only = Só palavra-passe

## Step-up

step_up_title = Confirme que é você
step_up_intro = Por segurança, introduza um código de verificação antes de alterar a verificação em dois passos.

## Administration

card_two_step = Verificação em dois passos
addon = Módulo
addon_unavailable = Indisponível: peça ao seu fornecedor para ativar o módulo de verificação em dois passos.
addon_available = Disponível: ligue-o para começar.
addon_connected = Ligado
connect = Ligar
status = Estado
enabled = Ativada
disabled = Desativada
enable_two_step = Ativar
disable_two_step = Desativar
policy = Política
policy_optional = Opcional: cada utilizador pode ativá-la.
mandatory_org = Obrigatória para toda a organização
make_mandatory_org = Tornar obrigatória para todos
make_optional_org = Tornar opcional para todos
profiles = Perfis
profile_col = Perfil
mandatory = Obrigatória
optional = Opcional
users_col = Utilizadores
enrolled_col = Configurada
make_mandatory = Tornar obrigatória
make_optional = Tornar opcional
grace_note = Quando a verificação em dois passos passa a ser obrigatória para um perfil, as sessões sem ela terminam após um período de tolerância.
report = Relatório de adesão
kind_col = Tipo
required_col = Obrigatória
methods_col = Métodos
last_two_step_col = Última verificação
kind_user = Utilizador
kind_contact = Contacto
reset = Repor 2SV
reset_title = Repor a verificação em dois passos de { $user }?
reset_explain = Isto remove a aplicação de autenticação, o número de telemóvel e os códigos de recuperação, e termina todas as sessões de imediato. Se a verificação for obrigatória, voltam a configurá-la no próximo início de sessão.
reset_confirm = Sim, repor a verificação em dois passos
audit = Eventos de segurança recentes
audit_at = Hora (UTC)
audit_type = Evento
audit_actor = Por
audit_subject = Conta
audit_outcome = Resultado

## Messages after a redirect

flash_signed_out = Terminou a sessão.
flash_method_enabled = Método ativado.
flash_method_disabled = Método desativado.
flash_recovery_used = Iniciou sessão com um código de recuperação: restam { $n }.
flash_sms_sent = Código enviado. Pode demorar alguns segundos a chegar.
flash_session_ended = Essa sessão foi terminada.
flash_reset_done = A verificação em dois passos foi reposta.
flash_saved = Guardado.
flash_admin_confirmed = Obrigado. Durante os próximos 15 minutos pode fazer alterações que reduzem a proteção.
flash_confirmed = Obrigado. Pode alterar a verificação em dois passos durante os próximos 15 minutos.

## Chaves de segurança, passkeys e métodos com nome (SPEC §14); as definições de implementação

method_webauthn = Chave de segurança ou passkey
your_methods = Os seus métodos
method_name = Nome
method_type = Tipo
method_added = Adicionado
method_last_used = Última utilização
remove = Remover
name_optional = Nome (opcional)
add_totp = Adicionar outra aplicação de autenticação
key_add = Adicionar uma chave de segurança ou passkey
key_desc = Uma chave de segurança (USB ou NFC) ou uma passkey neste dispositivo: o segundo passo mais forte, imune a phishing.
key_unsupported = Este navegador não pode usar chaves de segurança aqui (precisa de JavaScript e WebAuthn).
key_failed = A chave de segurança não respondeu. Tente novamente.
use_key = Usar uma chave de segurança ou passkey
key_hint = Insira ou toque na sua chave de segurança, ou use a passkey deste dispositivo.
key_start = Usar chave de segurança
rollout = Implementação
enrollment_period_label = Dias para configurar a 2SV quando se torna obrigatória (0: no próximo início de sessão)
remember_device_label = Dias em que um navegador pode saltar o segundo passo (0: nunca)
save = Guardar
