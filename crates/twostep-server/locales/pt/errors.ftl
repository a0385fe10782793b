### Mensagens de erro em português: as mesmas chaves e variáveis que en/errors.ftl.

## Errors, by API error code (`err_` and the code)

err_invalid_request = Esse passo expirou ou o formulário estava incompleto. Comece novamente.
err_unknown_client = Esta aplicação não é conhecida pelo serviço de início de sessão.
err_payload_too_large = O que enviou é demasiado grande.
err_invalid_credentials = Organização, nome de utilizador ou palavra-passe incorretos.
err_session_invalid = A sua sessão terminou. Inicie sessão novamente.
err_session_revoked = A sua sessão terminou porque a verificação em dois passos passou a ser obrigatória. Inicie sessão novamente para a configurar.
err_flow_expired = Este início de sessão expirou ou teve demasiados códigos errados. Inicie sessão novamente.
err_invalid_code = Esse código não está correto.
err_attempts_left = { $n ->
    [one] Resta { $n } tentativa.
   *[other] Restam { $n } tentativas.
}
err_forbidden = Não tem acesso a esta página.
err_two_step_unsupported_client = Esta aplicação ainda não suporta a verificação em dois passos. Inicie sessão na web ou fale com o seu administrador.
err_two_step_not_available = A verificação em dois passos não está disponível para esta conta.
err_step_up_required = Confirme primeiro que é você.
err_not_found = Não encontrado.
err_addon_unavailable = O módulo de verificação em dois passos não está disponível para a sua organização. Peça ao fornecedor para o ativar.
err_addon_not_connected = Ligue primeiro o módulo de verificação em dois passos.
err_two_step_disabled = A sua organização não ativou a verificação em dois passos.
err_method_required = A verificação em dois passos é obrigatória para si, por isso tem de manter pelo menos um método. Adicione outro antes de desativar este.
err_conflict = Algo mudou entretanto. Recarregue a página e tente novamente.
err_invalid_phone = Este não é um número de telemóvel válido. Use o formato internacional, por exemplo +351 912 345 678.
err_two_step_locked = Demasiados códigos errados: a verificação em dois passos está bloqueada para a sua conta. Tente novamente dentro de { $time }.
err_rate_limited = Demasiadas tentativas. Tente novamente dentro de { $time }.
err_sms_rate_limited = Demasiadas mensagens de texto. Tente novamente dentro de { $time }.
err_sms_delivery_failed = Não foi possível enviar a mensagem de texto. Tente novamente ou use outro método.
err_unavailable = O serviço está ocupado. Tente novamente daqui a pouco.
err_internal = Algo correu mal do nosso lado. Tente novamente.
err_weak_password = Escolha uma palavra-passe mais forte.
err_account_disabled = Esta conta está desativada. Fale com o seu administrador.
err_access_code_required = Primeiro é preciso um código de acesso do seu administrador.
err_link_expired = Este endereço expirou ou já foi usado. Peça um novo ao seu administrador.

## Durations

seconds = { $n ->
    [one] { $n } segundo
   *[other] { $n } segundos
}
minutes = { $n ->
    [one] { $n } minuto
   *[other] { $n } minutos
}
