//! The pages' words in English and Portuguese, and a clear message for every error code
//! of the API. Placeholders (`{n}`, `{time}`, `{hint}`…) are filled in by the caller.

use crate::error::ApiError;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::LazyLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Pt,
}

impl Lang {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "en" => Some(Self::En),
            "pt" => Some(Self::Pt),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Pt => "pt",
        }
    }

    /// The preferred of the languages we have (RFC 9110 §12.5.4 quality values);
    /// English when none matches.
    pub fn from_accept_language(header: Option<&str>) -> Self {
        let mut ranges: Vec<(f32, Self)> = header
            .unwrap_or("")
            .split(',')
            .filter_map(|part| {
                let mut pieces = part.split(';');
                let tag = pieces.next()?.trim().to_ascii_lowercase();
                let q = pieces
                    .filter_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.parse::<f32>().ok()))
                    .next()
                    .unwrap_or(1.0);
                let primary = tag.split('-').next()?;
                Some((q, Self::parse(primary)?))
            })
            .filter(|(q, _)| *q > 0.0)
            .collect();
        // Stable: among equal weights, the order the browser gave wins.
        ranges.sort_by(|a, b| b.0.total_cmp(&a.0));
        ranges.first().map(|r| r.1).unwrap_or(Self::En)
    }
}

/// (key, English, Portuguese).
const WORDS: &[(&str, &str, &str)] = &[
    // Security keys, passkeys and named methods (SPEC §14)
    ("method_webauthn", "Security key or passkey", "Chave de segurança ou passkey"),
    ("your_methods", "Your methods", "Os seus métodos"),
    ("method_name", "Name", "Nome"),
    ("method_type", "Type", "Tipo"),
    ("method_added", "Added", "Adicionado"),
    ("method_last_used", "Last used", "Última utilização"),
    ("never", "Never", "Nunca"),
    ("remove", "Remove", "Remover"),
    ("name_optional", "Name (optional)", "Nome (opcional)"),
    ("add_totp", "Add another authenticator app", "Adicionar outra aplicação de autenticação"),
    ("key_add", "Add a security key or passkey", "Adicionar uma chave de segurança ou passkey"),
    (
        "key_desc",
        "A security key (USB or NFC) or a passkey on this device: the strongest second step, immune to phishing.",
        "Uma chave de segurança (USB ou NFC) ou uma passkey neste dispositivo: o segundo passo mais forte, imune a phishing.",
    ),
    (
        "key_unsupported",
        "This browser cannot use security keys here (it needs JavaScript and WebAuthn).",
        "Este navegador não pode usar chaves de segurança aqui (precisa de JavaScript e WebAuthn).",
    ),
    (
        "key_failed",
        "The security key did not answer. Try again.",
        "A chave de segurança não respondeu. Tente novamente.",
    ),
    ("use_key", "Use a security key or passkey", "Usar uma chave de segurança ou passkey"),
    (
        "key_hint",
        "Insert or touch your security key, or use this device's passkey.",
        "Insira ou toque na sua chave de segurança, ou use a passkey deste dispositivo.",
    ),
    ("key_start", "Use security key", "Usar chave de segurança"),
    ("rollout", "Rollout", "Implementação"),
    (
        "enrollment_period_label",
        "Days to set up 2SV once it becomes mandatory (0: at the next sign-in)",
        "Dias para configurar a 2SV quando se torna obrigatória (0: no próximo início de sessão)",
    ),
    (
        "remember_device_label",
        "Days a browser may skip the second step (0: never)",
        "Dias em que um navegador pode saltar o segundo passo (0: nunca)",
    ),
    ("save", "Save", "Guardar"),
    // User management (SPEC §12)
    ("users_title", "Users", "Utilizadores"),
    ("contact", "Contact", "Contacto"),
    ("username_taken", "This username is already taken.", "Este nome de utilizador já existe."),
    ("users_find", "Find users", "Procurar utilizadores"),
    ("users_search", "Name, username or email", "Nome, utilizador ou email"),
    ("users_search_button", "Search", "Procurar"),
    ("users_any", "Any", "Qualquer"),
    ("users_enrolled", "Enrolled", "Com verificação"),
    ("users_not_enrolled", "Not enrolled", "Sem verificação"),
    ("users_required_not_enrolled", "Required, not enrolled", "Obrigatória, sem verificação"),
    ("users_csv", "Download the enrollment report (CSV)", "Descarregar o relatório de adesão (CSV)"),
    ("users_name", "Display name", "Nome"),
    ("users_email", "Email", "Email"),
    ("users_last_sign_in", "Last sign-in", "Última entrada"),
    ("users_disabled", "Disabled", "Desativado"),
    ("users_active", "Active", "Ativo"),
    ("users_waiting_code", "Waiting for an access code", "À espera de código de acesso"),
    ("users_next", "Next page", "Página seguinte"),
    ("users_create", "Create user", "Criar utilizador"),
    ("users_contact_kind", "External contact (no profile, never 2SV)", "Contacto externo (sem perfil, nunca 2SV)"),
    ("users_edit", "Profile", "Perfil"),
    ("users_save", "Save", "Guardar"),
    ("users_actions", "Actions", "Ações"),
    ("users_enable", "Enable", "Ativar"),
    ("users_disable", "Disable (signs out everywhere)", "Desativar (termina todas as sessões)"),
    ("users_delete", "Delete", "Eliminar"),
    ("users_password_reset", "Reset password", "Repor palavra-passe"),
    ("users_access_code", "Issue an access code", "Emitir código de acesso"),
    ("users_confirm_first", "Confirm it's you", "Confirme que é você"),
    ("user_created", "User created", "Utilizador criado"),
    ("password_reset_done", "Password reset", "Palavra-passe reposta"),
    ("access_code_issued", "Access code", "Código de acesso"),
    (
        "users_shown_once",
        "Give this to {user} yourself: it is shown only now. (A user with an email address also got the link by email.)",
        "Entregue isto a {user} pessoalmente: só é mostrado agora. (Um utilizador com email também recebeu o endereço por email.)",
    ),
    ("users_expires", "Works once, until {at}.", "Funciona uma vez, até {at}."),
    (
        "flash_user_disabled",
        "The user was disabled and signed out everywhere.",
        "O utilizador foi desativado e saiu de todas as sessões.",
    ),
    ("flash_user_deleted", "The user was deleted.", "O utilizador foi eliminado."),
    // Accounts and passwords (SPEC §12)
    ("setup_title", "Choose your password", "Escolha a sua palavra-passe"),
    ("setup_intro", "Choose a password for {username}.", "Escolha uma palavra-passe para {username}."),
    ("setup_expired_title", "This link no longer works", "Este endereço já não funciona"),
    ("new_password", "New password", "Nova palavra-passe"),
    ("current_password", "Current password", "Palavra-passe atual"),
    ("confirm_password", "Repeat the new password", "Repita a nova palavra-passe"),
    ("set_password", "Set password", "Definir palavra-passe"),
    ("change_password", "Change password", "Alterar palavra-passe"),
    (
        "password_rules",
        "At least 8 characters. Not a common password, your username or the organization's name.",
        "Pelo menos 8 caracteres. Não uma palavra-passe comum, o seu nome de utilizador ou o nome da organização.",
    ),
    ("passwords_differ", "The two passwords are not the same.", "As duas palavras-passe não são iguais."),
    (
        "flash_password_changed",
        "Your password was changed. Your other sessions were ended.",
        "A sua palavra-passe foi alterada. As suas outras sessões foram terminadas.",
    ),
    ("weak_too_short", "Use at least 8 characters.", "Use pelo menos 8 caracteres."),
    ("weak_too_long", "Use at most 256 characters.", "Use no máximo 256 caracteres."),
    ("weak_common", "It is one of the most common passwords.", "É uma das palavras-passe mais comuns."),
    ("weak_contains_username", "It contains your username.", "Contém o seu nome de utilizador."),
    ("weak_contains_organization", "It contains the organization's name.", "Contém o nome da organização."),
    ("access_code_title", "Enter your access code", "Introduza o seu código de acesso"),
    (
        "access_code_intro",
        "Your 2-Step Verification was reset. Ask your administrator for an access code to set it up again.",
        "A sua verificação em dois passos foi reposta. Peça ao seu administrador um código de acesso para a configurar de novo.",
    ),
    ("access_code", "Access code", "Código de acesso"),
    ("err_weak_password", "Choose a stronger password.", "Escolha uma palavra-passe mais forte."),
    (
        "err_account_disabled",
        "This account is disabled. Ask your administrator.",
        "Esta conta está desativada. Fale com o seu administrador.",
    ),
    (
        "err_access_code_required",
        "An access code from your administrator is needed first.",
        "Primeiro é preciso um código de acesso do seu administrador.",
    ),
    (
        "err_link_expired",
        "This link has expired or was already used. Ask your administrator for a new one.",
        "Este endereço expirou ou já foi usado. Peça um novo ao seu administrador.",
    ),
    // Layout
    ("skip", "Skip to content", "Saltar para o conteúdo"),
    ("home", "Home", "Início"),
    ("security_settings", "Security settings", "Definições de segurança"),
    ("admin_security", "Security and compliance", "Segurança e conformidade"),
    // Apps (OpenID Connect)
    ("apps", "Apps", "Aplicações"),
    (
        "apps_hint",
        "Apps that sign their users in through Twostep with OpenID Connect.",
        "Aplicações que autenticam os seus utilizadores através do Twostep com OpenID Connect.",
    ),
    ("app_registered", "Registered:", "Registada:"),
    (
        "app_secret_once",
        "Copy the client secret into the app now: it is shown only this once.",
        "Copie já o segredo do cliente para a aplicação: só é mostrado desta vez.",
    ),
    ("app_name", "Name", "Nome"),
    ("app_slug", "Short name (a-z, 0-9, -)", "Nome curto (a-z, 0-9, -)"),
    ("app_type", "Type", "Tipo"),
    ("app_public", "Public (PKCE)", "Pública (PKCE)"),
    ("app_confidential", "Confidential", "Confidencial"),
    ("app_redirect_uris", "Redirect URIs", "URIs de redirecionamento"),
    (
        "app_redirect_hint",
        "One per line, exact: https, or http on localhost.",
        "Um por linha, exatos: https, ou http em localhost.",
    ),
    ("app_actions", "Actions", "Ações"),
    ("app_new_secret", "New secret", "Novo segredo"),
    ("app_delete", "Remove", "Remover"),
    ("no_apps", "No apps are registered yet.", "Ainda não há aplicações registadas."),
    ("app_register", "Register an app", "Registar uma aplicação"),
    (
        "app_public_choice",
        "Public app (single-page or mobile: no secret, PKCE)",
        "Aplicação pública (página única ou móvel: sem segredo, PKCE)",
    ),
    (
        "app_no_two_step",
        "This app cannot do 2-Step Verification (its sign-ins are refused when 2SV applies)",
        "Esta aplicação não suporta a verificação em dois passos (as entradas são recusadas quando se aplica)",
    ),
    ("app_no_two_step_short", "Not supported", "Não suportada"),
    ("continue_title", "Signed in", "Sessão iniciada"),
    ("set_up_later", "Set up later", "Configurar mais tarde"),
    ("devices_section", "Remembered devices", "Dispositivos memorizados"),
    ("device", "Device", "Dispositivo"),
    ("device_until", "Remembered until", "Memorizado até"),
    ("device_forget", "Forget", "Esquecer"),
    (
        "flash_device_forgotten",
        "That device will be asked for a code again.",
        "Esse dispositivo voltará a pedir um código.",
    ),
    (
        "remember_device",
        "Don't ask again on this device for {n} days",
        "Não voltar a pedir neste dispositivo durante {n} dias",
    ),
    (
        "enroll_by_note",
        "Your organisation asks you to set up 2-Step Verification by",
        "A sua organização pede-lhe que configure a verificação em dois passos até",
    ),
    ("continue_to_app", "Continue to the app", "Continuar para a aplicação"),
    ("sign_out", "Sign out", "Terminar sessão"),
    ("language", "Language", "Idioma"),
    ("error_title", "Something went wrong", "Algo correu mal"),
    (
        "form_invalid",
        "The form could not be read. Go back and try again.",
        "Não foi possível ler o formulário. Volte atrás e tente novamente.",
    ),
    (
        "csrf_failed",
        "This form has expired or did not come from this site. Go back, reload the page and try again.",
        "Este formulário expirou ou não veio deste site. Volte atrás, recarregue a página e tente novamente.",
    ),
    ("back_to_sign_in", "Back to sign in", "Voltar ao início de sessão"),
    ("back_to_settings", "Back to security settings", "Voltar às definições de segurança"),
    ("back_home", "Go to the home page", "Ir para a página inicial"),
    ("continue", "Continue", "Continuar"),
    ("cancel", "Cancel", "Cancelar"),
    ("yes", "Yes", "Sim"),
    ("no", "No", "Não"),
    ("none", "None", "Nenhum"),
    ("never", "Never", "Nunca"),
    // Sign-in
    ("sign_in_title", "Sign in", "Iniciar sessão"),
    ("organization", "Organization", "Organização"),
    ("username", "Username", "Nome de utilizador"),
    ("password", "Password", "Palavra-passe"),
    ("sign_in", "Sign in", "Iniciar sessão"),
    (
        "demo_hint",
        "Demo mode: the accounts and their passwords were printed when the server started.",
        "Modo de demonstração: as contas e as palavras-passe foram mostradas quando o servidor arrancou.",
    ),
    ("demo_outbox", "Demo text message outbox", "Caixa de saída de SMS da demonstração"),
    (
        "outbox_intro",
        "Text messages sent by the demo, newest first.",
        "Mensagens de texto enviadas pela demonstração, as mais recentes primeiro.",
    ),
    ("outbox_empty", "No text messages yet.", "Ainda não há mensagens de texto."),
    ("outbox_to", "To {to} at {at}", "Para {to} às {at}"),
    // Second step
    ("two_step_title", "2-Step Verification", "Verificação em dois passos"),
    (
        "two_step_intro",
        "To keep your account safe, enter a verification code.",
        "Para proteger a sua conta, introduza um código de verificação.",
    ),
    ("code_totp_label", "Code from your authenticator app", "Código da sua aplicação de autenticação"),
    (
        "code_totp_hint",
        "Open your authenticator app and enter the 6-digit code it shows for Twostep.",
        "Abra a aplicação de autenticação e introduza o código de 6 dígitos que mostra para o Twostep.",
    ),
    ("code_sms_label", "Code from the text message", "Código da mensagem de texto"),
    (
        "code_sms_hint",
        "We send a 6-digit code to your phone number {hint}.",
        "Enviamos um código de 6 dígitos para o seu número {hint}.",
    ),
    ("code_recovery_label", "Recovery code", "Código de recuperação"),
    (
        "code_recovery_hint",
        "Enter one of the recovery codes you saved when you set up 2-Step Verification. Each code works once.",
        "Introduza um dos códigos de recuperação que guardou ao configurar a verificação em dois passos. Cada código só funciona uma vez.",
    ),
    ("send_code", "Send code", "Enviar código"),
    ("send_new_code", "Send a new code", "Enviar um novo código"),
    ("verify", "Verify", "Verificar"),
    ("other_methods", "Other ways to verify", "Outras formas de verificar"),
    ("use_totp", "Use your authenticator app", "Usar a aplicação de autenticação"),
    ("use_sms", "Get a text message", "Receber uma mensagem de texto"),
    ("use_recovery", "Use a recovery code", "Usar um código de recuperação"),
    ("cancel_sign_in", "Cancel and start again", "Cancelar e recomeçar"),
    // Enrollment
    ("enroll_title", "Set up 2-Step Verification", "Configurar a verificação em dois passos"),
    (
        "enroll_intro",
        "Your organization requires 2-Step Verification. Choose how you want to get your codes; you can add the other way later in your security settings.",
        "A sua organização exige a verificação em dois passos. Escolha como quer receber os códigos; pode adicionar a outra forma mais tarde nas definições de segurança.",
    ),
    ("method_totp", "Authenticator app", "Aplicação de autenticação"),
    (
        "method_totp_desc",
        "Google Authenticator, Microsoft Authenticator or any app that shows 6-digit codes. Works without mobile signal.",
        "Google Authenticator, Microsoft Authenticator ou qualquer aplicação que mostre códigos de 6 dígitos. Funciona sem rede móvel.",
    ),
    ("method_sms", "Text message", "Mensagem de texto (SMS)"),
    (
        "method_sms_desc",
        "We send a code to your mobile phone each time you sign in.",
        "Enviamos um código para o seu telemóvel sempre que inicia sessão.",
    ),
    ("choose_totp", "Use an authenticator app", "Usar uma aplicação de autenticação"),
    ("choose_sms", "Use text messages", "Usar mensagens de texto"),
    ("totp_title", "Set up your authenticator app", "Configurar a aplicação de autenticação"),
    (
        "totp_step1",
        "Open your authenticator app and choose to add an account.",
        "Abra a aplicação de autenticação e escolha adicionar uma conta.",
    ),
    (
        "totp_step2",
        "Scan this QR code, or type the key below by hand.",
        "Leia este código QR, ou escreva a chave abaixo à mão.",
    ),
    ("totp_step3", "Enter the 6-digit code the app shows.", "Introduza o código de 6 dígitos que a aplicação mostra."),
    (
        "qr_alt",
        "QR code to add Twostep to your authenticator app",
        "Código QR para adicionar o Twostep à sua aplicação de autenticação",
    ),
    ("secret_label", "Key for manual entry", "Chave para introdução manual"),
    ("secret_hint", "Time-based, 6 digits, every 30 seconds.", "Baseada no tempo, 6 dígitos, a cada 30 segundos."),
    ("copy", "Copy", "Copiar"),
    ("copied", "Copied", "Copiado"),
    ("code_label", "6-digit code", "Código de 6 dígitos"),
    ("verify_enable", "Verify and enable", "Verificar e ativar"),
    ("sms_title", "Set up text messages", "Configurar mensagens de texto"),
    ("phone_label", "Mobile phone number", "Número de telemóvel"),
    (
        "phone_hint",
        "In international form, for example +351 912 345 678.",
        "Em formato internacional, por exemplo +351 912 345 678.",
    ),
    ("add_number", "Add number", "Adicionar número"),
    (
        "sms_sent_to",
        "We sent a code to {hint}. It is valid for 5 minutes.",
        "Enviámos um código para {hint}. É válido durante 5 minutos.",
    ),
    ("change_number", "Use a different number", "Usar outro número"),
    ("other_method", "Choose another method", "Escolher outro método"),
    // Recovery codes
    ("recovery_title", "Save your recovery codes", "Guarde os seus códigos de recuperação"),
    (
        "recovery_intro",
        "If you lose your phone, each of these codes lets you sign in once. Keep them somewhere safe: they are shown only now.",
        "Se perder o telemóvel, cada um destes códigos permite iniciar sessão uma vez. Guarde-os num lugar seguro: só são mostrados agora.",
    ),
    ("download", "Download as text", "Transferir como texto"),
    ("recovery_continue", "I have saved them — continue", "Já os guardei — continuar"),
    (
        "recovery_file",
        "Twostep recovery codes for {user} at {org}. Each code works once.",
        "Códigos de recuperação do Twostep para {user} em {org}. Cada código funciona uma vez.",
    ),
    // Home
    ("home_title", "You are signed in", "Sessão iniciada"),
    ("signed_in_as", "Signed in as {user} at {org}.", "Sessão iniciada como {user} em {org}."),
    ("profile", "Profile", "Perfil"),
    ("app", "App", "Aplicação"),
    (
        "verified_session",
        "This session passed 2-Step Verification.",
        "Esta sessão passou a verificação em dois passos.",
    ),
    (
        "password_session",
        "This session was opened with a password only.",
        "Esta sessão foi aberta apenas com a palavra-passe.",
    ),
    ("session_expires", "Session expires", "A sessão expira"),
    (
        "revoke_notice",
        "2-Step Verification is now required for you: this session ends at {at}. Sign out and sign in again to set it up.",
        "A verificação em dois passos passou a ser obrigatória para si: esta sessão termina às {at}. Termine a sessão e inicie-a novamente para a configurar.",
    ),
    // Settings
    ("settings_title", "Security", "Segurança"),
    ("two_step_section", "2-Step Verification", "Verificação em dois passos"),
    (
        "two_step_explain",
        "After your password, you also enter a code from your phone, so someone who learns your password still cannot sign in.",
        "Depois da palavra-passe, introduz também um código do seu telemóvel; assim, quem souber a sua palavra-passe não consegue entrar.",
    ),
    (
        "two_step_required_note",
        "Your organization requires 2-Step Verification for you.",
        "A sua organização exige-lhe a verificação em dois passos.",
    ),
    ("status_on", "On", "Ativo"),
    ("status_off", "Off", "Desativado"),
    ("enabled_since", "Enabled on {at}", "Ativado em {at}"),
    ("enable", "Enable", "Ativar"),
    ("disable", "Disable", "Desativar"),
    ("recovery_section", "Recovery codes", "Códigos de recuperação"),
    ("recovery_remaining", "{n} of 10 recovery codes left.", "Restam {n} de 10 códigos de recuperação."),
    (
        "recovery_none",
        "Recovery codes are created when you enable your first method.",
        "Os códigos de recuperação são criados quando ativa o primeiro método.",
    ),
    ("recovery_new", "Create new codes", "Criar novos códigos"),
    ("sessions_section", "Where you are signed in", "Onde tem sessão iniciada"),
    ("session_started", "Started", "Início"),
    ("session_last_seen", "Last active", "Última atividade"),
    ("session_ip", "IP address", "Endereço IP"),
    ("session_kind", "Sign-in", "Início de sessão"),
    ("this_session", "This session", "Esta sessão"),
    ("with_two_step", "With 2-Step Verification", "Com verificação em dois passos"),
    ("password_only", "Password only", "Só palavra-passe"),
    // Step-up
    ("step_up_title", "Confirm it's you", "Confirme que é você"),
    (
        "step_up_intro",
        "For your security, enter a verification code before changing your 2-Step Verification.",
        "Por segurança, introduza um código de verificação antes de alterar a verificação em dois passos.",
    ),
    // Administration
    ("card_two_step", "2-Step Verification", "Verificação em dois passos"),
    ("addon", "Add-on", "Módulo"),
    (
        "addon_unavailable",
        "Not available: ask your provider to activate the 2-Step Verification add-on.",
        "Indisponível: peça ao seu fornecedor para ativar o módulo de verificação em dois passos.",
    ),
    ("addon_available", "Available: connect it to start.", "Disponível: ligue-o para começar."),
    ("addon_connected", "Connected", "Ligado"),
    ("connect", "Connect", "Ligar"),
    ("status", "Status", "Estado"),
    ("enabled", "Enabled", "Ativada"),
    ("disabled", "Disabled", "Desativada"),
    ("enable_two_step", "Enable", "Ativar"),
    ("disable_two_step", "Disable", "Desativar"),
    ("policy", "Policy", "Política"),
    ("policy_optional", "Optional: users may turn it on themselves.", "Opcional: cada utilizador pode ativá-la."),
    ("mandatory_org", "Mandatory for the entire organization", "Obrigatória para toda a organização"),
    ("make_mandatory_org", "Make mandatory for everyone", "Tornar obrigatória para todos"),
    ("make_optional_org", "Make optional for everyone", "Tornar opcional para todos"),
    ("profiles", "Profiles", "Perfis"),
    ("profile_col", "Profile", "Perfil"),
    ("mandatory", "Mandatory", "Obrigatória"),
    ("optional", "Optional", "Opcional"),
    ("users_col", "Users", "Utilizadores"),
    ("enrolled_col", "Enrolled", "Configurada"),
    ("make_mandatory", "Make mandatory", "Tornar obrigatória"),
    ("make_optional", "Make optional", "Tornar opcional"),
    (
        "grace_note",
        "When 2-Step Verification becomes mandatory for a profile, its users' sessions without it end after a grace period.",
        "Quando a verificação em dois passos passa a ser obrigatória para um perfil, as sessões sem ela terminam após um período de tolerância.",
    ),
    ("report", "Enrollment report", "Relatório de adesão"),
    ("kind_col", "Type", "Tipo"),
    ("required_col", "Required", "Obrigatória"),
    ("methods_col", "Methods", "Métodos"),
    ("last_two_step_col", "Last 2-Step Verification", "Última verificação"),
    ("kind_user", "User", "Utilizador"),
    ("kind_contact", "Contact", "Contacto"),
    ("reset", "Reset 2SV", "Repor 2SV"),
    ("reset_title", "Reset 2-Step Verification for {user}?", "Repor a verificação em dois passos de {user}?"),
    (
        "reset_explain",
        "This removes their authenticator app, phone number and recovery codes, and signs them out everywhere at once. If 2-Step Verification is mandatory for them, they set it up again at their next sign-in.",
        "Isto remove a aplicação de autenticação, o número de telemóvel e os códigos de recuperação, e termina todas as sessões de imediato. Se a verificação for obrigatória, voltam a configurá-la no próximo início de sessão.",
    ),
    ("reset_confirm", "Yes, reset 2-Step Verification", "Sim, repor a verificação em dois passos"),
    ("audit", "Recent security events", "Eventos de segurança recentes"),
    ("audit_at", "Time (UTC)", "Hora (UTC)"),
    ("audit_type", "Event", "Evento"),
    ("audit_actor", "By", "Por"),
    ("audit_subject", "Account", "Conta"),
    ("audit_outcome", "Outcome", "Resultado"),
    // Messages after a redirect
    ("flash_signed_out", "You have signed out.", "Terminou a sessão."),
    ("flash_method_enabled", "Method enabled.", "Método ativado."),
    ("flash_method_disabled", "Method disabled.", "Método desativado."),
    (
        "flash_recovery_used",
        "You signed in with a recovery code: {n} left.",
        "Iniciou sessão com um código de recuperação: restam {n}.",
    ),
    (
        "flash_sms_sent",
        "Code sent. It can take a few seconds to arrive.",
        "Código enviado. Pode demorar alguns segundos a chegar.",
    ),
    ("flash_session_ended", "That session was signed out.", "Essa sessão foi terminada."),
    ("flash_reset_done", "2-Step Verification was reset.", "A verificação em dois passos foi reposta."),
    ("flash_saved", "Saved.", "Guardado."),
    (
        "flash_admin_confirmed",
        "Thank you. For the next 15 minutes you can make changes that weaken protection.",
        "Obrigado. Durante os próximos 15 minutos pode fazer alterações que reduzem a proteção.",
    ),
    (
        "flash_confirmed",
        "Thank you. You can change your 2-Step Verification for the next 15 minutes.",
        "Obrigado. Pode alterar a verificação em dois passos durante os próximos 15 minutos.",
    ),
    // Errors, by API error code
    (
        "err_invalid_request",
        "That step has expired or the form was incomplete. Please start again.",
        "Esse passo expirou ou o formulário estava incompleto. Comece novamente.",
    ),
    (
        "err_unknown_client",
        "This app is not known to the sign-in service.",
        "Esta aplicação não é conhecida pelo serviço de início de sessão.",
    ),
    ("err_payload_too_large", "What you sent is too large.", "O que enviou é demasiado grande."),
    (
        "err_invalid_credentials",
        "Wrong organization, username or password.",
        "Organização, nome de utilizador ou palavra-passe incorretos.",
    ),
    (
        "err_session_invalid",
        "Your session has ended. Please sign in again.",
        "A sua sessão terminou. Inicie sessão novamente.",
    ),
    (
        "err_session_revoked",
        "Your session ended because 2-Step Verification is now required. Sign in again to set it up.",
        "A sua sessão terminou porque a verificação em dois passos passou a ser obrigatória. Inicie sessão novamente para a configurar.",
    ),
    (
        "err_flow_expired",
        "This sign-in has expired or had too many wrong codes. Please sign in again.",
        "Este início de sessão expirou ou teve demasiados códigos errados. Inicie sessão novamente.",
    ),
    ("err_invalid_code", "That code is not correct.", "Esse código não está correto."),
    ("err_attempts_left", "{n} attempts left.", "Restam {n} tentativas."),
    ("err_attempt_left", "1 attempt left.", "Resta 1 tentativa."),
    ("err_forbidden", "You do not have access to this page.", "Não tem acesso a esta página."),
    (
        "err_two_step_unsupported_client",
        "This app does not support 2-Step Verification yet. Sign in on the web, or ask your administrator.",
        "Esta aplicação ainda não suporta a verificação em dois passos. Inicie sessão na web ou fale com o seu administrador.",
    ),
    (
        "err_two_step_not_available",
        "2-Step Verification is not available for this account.",
        "A verificação em dois passos não está disponível para esta conta.",
    ),
    ("err_step_up_required", "Confirm it's you first.", "Confirme primeiro que é você."),
    ("err_not_found", "Not found.", "Não encontrado."),
    (
        "err_addon_unavailable",
        "The 2-Step Verification add-on is not available for your organization. Ask your provider to activate it.",
        "O módulo de verificação em dois passos não está disponível para a sua organização. Peça ao fornecedor para o ativar.",
    ),
    (
        "err_addon_not_connected",
        "Connect the 2-Step Verification add-on first.",
        "Ligue primeiro o módulo de verificação em dois passos.",
    ),
    (
        "err_two_step_disabled",
        "Your organization has not turned on 2-Step Verification.",
        "A sua organização não ativou a verificação em dois passos.",
    ),
    (
        "err_method_required",
        "2-Step Verification is required for you, so you must keep at least one method. Add another method before disabling this one.",
        "A verificação em dois passos é obrigatória para si, por isso tem de manter pelo menos um método. Adicione outro antes de desativar este.",
    ),
    (
        "err_conflict",
        "Something changed in the meantime. Reload the page and try again.",
        "Algo mudou entretanto. Recarregue a página e tente novamente.",
    ),
    (
        "err_invalid_phone",
        "This is not a valid mobile number. Use the international form, for example +351 912 345 678.",
        "Este não é um número de telemóvel válido. Use o formato internacional, por exemplo +351 912 345 678.",
    ),
    (
        "err_two_step_locked",
        "Too many wrong codes: 2-Step Verification is locked for your account. Try again in {time}.",
        "Demasiados códigos errados: a verificação em dois passos está bloqueada para a sua conta. Tente novamente dentro de {time}.",
    ),
    (
        "err_rate_limited",
        "Too many attempts. Try again in {time}.",
        "Demasiadas tentativas. Tente novamente dentro de {time}.",
    ),
    (
        "err_sms_rate_limited",
        "Too many text messages. Try again in {time}.",
        "Demasiadas mensagens de texto. Tente novamente dentro de {time}.",
    ),
    (
        "err_sms_delivery_failed",
        "The text message could not be sent. Try again, or use another method.",
        "Não foi possível enviar a mensagem de texto. Tente novamente ou use outro método.",
    ),
    (
        "err_unavailable",
        "The service is busy. Try again in a moment.",
        "O serviço está ocupado. Tente novamente daqui a pouco.",
    ),
    (
        "err_internal",
        "Something went wrong on our side. Please try again.",
        "Algo correu mal do nosso lado. Tente novamente.",
    ),
    ("seconds", "{n} seconds", "{n} segundos"),
    ("minute", "1 minute", "1 minuto"),
    ("minutes", "{n} minutes", "{n} minutos"),
];

/// One language's words, for templates (`t.key`) and for Rust (`get`).
#[derive(Serialize)]
#[serde(transparent)]
pub struct Table(BTreeMap<&'static str, &'static str>);

impl Table {
    /// The text for `key`, or empty when there is none (unit tests keep the table whole).
    pub fn get(&self, key: &str) -> &'static str {
        self.0.get(key).copied().unwrap_or("")
    }
}

static EN: LazyLock<Table> = LazyLock::new(|| Table(WORDS.iter().map(|(k, en, _)| (*k, *en)).collect()));
static PT: LazyLock<Table> = LazyLock::new(|| Table(WORDS.iter().map(|(k, _, pt)| (*k, *pt)).collect()));

pub fn table(lang: Lang) -> &'static Table {
    match lang {
        Lang::En => &EN,
        Lang::Pt => &PT,
    }
}

/// "45 seconds", "1 minute", "15 minutes" (rounded up: never promise too early).
pub fn duration(lang: Lang, seconds: i64) -> String {
    let t = table(lang);
    let seconds = seconds.max(1);
    if seconds < 60 {
        return t.get("seconds").replace("{n}", &seconds.to_string());
    }
    let minutes = (seconds + 59) / 60;
    if minutes == 1 { t.get("minute").to_owned() } else { t.get("minutes").replace("{n}", &minutes.to_string()) }
}

/// The message a person reads for an error of the service.
pub fn error(lang: Lang, e: &ApiError) -> String {
    let t = table(lang);
    let base = t.get(&format!("err_{}", e.code()));
    let base = if base.is_empty() { t.get("err_internal") } else { base };
    match e {
        ApiError::InvalidCode { attempts_remaining: Some(n) } if *n > 0 => {
            let left = if *n == 1 {
                t.get("err_attempt_left").to_owned()
            } else {
                t.get("err_attempts_left").replace("{n}", &n.to_string())
            };
            format!("{base} {left}")
        }
        ApiError::InvalidCode { attempts_remaining: Some(_) } => format!("{base} {}", t.get("err_flow_expired")),
        ApiError::TwoStepLocked { retry_after }
        | ApiError::RateLimited { retry_after }
        | ApiError::SmsRateLimited { retry_after } => base.replace("{time}", &duration(lang, *retry_after)),
        _ => base.to_owned(),
    }
}

/// A message carried over a redirect: a `flash_` text, or an error code's message.
pub fn flash(lang: Lang, key: &str, n: Option<i64>) -> Option<String> {
    let t = table(lang);
    let text = match t.get(&format!("flash_{key}")) {
        "" => t.get(&format!("err_{key}")),
        text => text,
    };
    (!text.is_empty()).then(|| text.replace("{n}", &n.unwrap_or(0).to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_has_both_languages_and_keys_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for (key, en, pt) in WORDS {
            assert!(seen.insert(key), "duplicate key {key}");
            assert!(!en.is_empty() && !pt.is_empty(), "{key} is missing a language");
        }
    }

    #[test]
    fn every_error_code_of_the_api_has_a_message_in_both_languages() {
        let errors = [
            ApiError::InvalidRequest(String::new()),
            ApiError::UnknownClient,
            ApiError::PayloadTooLarge,
            ApiError::InvalidCredentials,
            ApiError::SessionInvalid,
            ApiError::SessionRevoked,
            ApiError::FlowExpired,
            ApiError::InvalidCode { attempts_remaining: None },
            ApiError::Forbidden,
            ApiError::TwoStepUnsupportedClient,
            ApiError::TwoStepNotAvailable,
            ApiError::StepUpRequired,
            ApiError::NotFound(String::new()),
            ApiError::AddonUnavailable,
            ApiError::AddonNotConnected,
            ApiError::TwoStepDisabled,
            ApiError::MethodRequired,
            ApiError::Conflict(String::new()),
            ApiError::InvalidPhone,
            ApiError::TwoStepLocked { retry_after: 1 },
            ApiError::RateLimited { retry_after: 1 },
            ApiError::SmsRateLimited { retry_after: 1 },
            ApiError::SmsDeliveryFailed,
            ApiError::Unavailable,
            ApiError::WeakPassword { reasons: Vec::new() },
            ApiError::AccountDisabled,
            ApiError::AccessCodeRequired,
            ApiError::LinkExpired,
            ApiError::Internal(String::new()),
        ];
        for e in &errors {
            for lang in [Lang::En, Lang::Pt] {
                assert!(!table(lang).get(&format!("err_{}", e.code())).is_empty(), "{} in {lang:?}", e.code());
            }
        }
    }

    #[test]
    fn wrong_codes_say_how_many_attempts_remain() {
        let e = ApiError::InvalidCode { attempts_remaining: Some(3) };
        assert_eq!(error(Lang::En, &e), "That code is not correct. 3 attempts left.");
        assert_eq!(error(Lang::Pt, &e), "Esse código não está correto. Restam 3 tentativas.");
    }

    #[test]
    fn a_lockout_says_when_to_try_again_rounded_up_to_minutes() {
        let e = ApiError::TwoStepLocked { retry_after: 14 * 60 + 1 };
        assert!(error(Lang::En, &e).ends_with("Try again in 15 minutes."));
        assert_eq!(duration(Lang::Pt, 30), "30 segundos");
    }

    #[test]
    fn accept_language_picks_the_best_supported_language() {
        assert_eq!(Lang::from_accept_language(Some("pt-PT,pt;q=0.9,en;q=0.8")), Lang::Pt);
        assert_eq!(Lang::from_accept_language(Some("fr-FR, en;q=0.5, pt;q=0.7")), Lang::Pt);
        assert_eq!(Lang::from_accept_language(Some("de, en-GB;q=0.8")), Lang::En);
        assert_eq!(Lang::from_accept_language(Some("pt;q=0")), Lang::En);
        assert_eq!(Lang::from_accept_language(None), Lang::En);
    }
}
