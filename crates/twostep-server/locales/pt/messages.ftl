## Mensagens de texto (SPEC §5). A linha WebOTP `@host #código` é acrescentada depois de
## uma linha em branco; `sms.templates` na configuração pode substituir esta linha.

sms_code = { $code } é o seu código de verificação { $issuer }. Não o partilhe com ninguém.

## Emails (SPEC §12), no idioma da organização. `$method`: totp, sms ou outro.

email_hello = Olá { $name },
email_footer =
    Se não foi você, avise já o seu administrador.

    — { $organization }

email_method_enabled_subject = Método de verificação em dois passos adicionado
email_method_enabled = { $method ->
    [totp] Foi adicionada uma aplicação de autenticação à sua verificação em dois passos.
    [sms] Foram adicionadas mensagens de texto para o seu telemóvel à sua verificação em dois passos.
    [webauthn] Foi adicionada uma chave de segurança ou chave de acesso à sua verificação em dois passos.
   *[other] Foi adicionado um método à sua verificação em dois passos.
}
email_method_removed_subject = Método de verificação em dois passos removido
email_method_removed = { $method ->
    [totp] Foi removida a aplicação de autenticação da sua verificação em dois passos.
    [sms] Foram removidas as mensagens de texto para o seu telemóvel da sua verificação em dois passos.
    [webauthn] Foi removida uma chave de segurança ou chave de acesso da sua verificação em dois passos.
   *[other] Foi removido um método da sua verificação em dois passos.
}
email_recovery_codes_regenerated_subject = Novos códigos de recuperação
email_recovery_codes_regenerated = Foram gerados novos códigos de recuperação para a sua conta; os antigos deixaram de funcionar.
email_recovery_code_used_subject = Foi usado um código de recuperação
email_recovery_code_used = Foi usado um código de recuperação para entrar na sua conta.
email_password_changed_subject = A sua palavra-passe foi alterada
email_password_changed = A palavra-passe da sua conta foi alterada.
email_two_step_reset_subject = A sua verificação em dois passos foi reposta
email_two_step_reset = Um administrador removeu todos os métodos de verificação em dois passos da sua conta.
email_second_step_locked_subject = Verificação em dois passos bloqueada
email_second_step_locked = Foram introduzidos demasiados códigos errados na sua conta: o segundo passo está bloqueado por algum tempo.
email_setup_link_subject = Escolha a sua palavra-passe
email_setup_link =
    Abra este endereço para escolher a sua palavra-passe (funciona uma vez, até { $expires_at }):

    { $url }
