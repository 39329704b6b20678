# Gatehouse em português (do Brasil; "pt-PT" pode ser acrescentado com
# ui.translations_dir). As mesmas chaves de locales/en/gatehouse.ftl.

## A página de entrada

sign-in = Entrar
sign-in-to = Entrar em { $client }
phone-label = Número de telefone
phone-help = Enviaremos um código por SMS para você entrar.
send-code = Enviar código
code-label = Código recebido por SMS
verify = Entrar
resend = Enviar um novo código
change-number = Usar outro número
remember-me = Manter conectado neste dispositivo
cancel = Cancelar
risk-notice = Um SMS pode ser interceptado ou desviado para outro telefone; um aplicativo autenticador ou uma chave de acesso fica no seu próprio dispositivo, e uma chave de acesso não pode ser roubada por phishing.
use-app = Usar um aplicativo autenticador
sign-in-with-passkey = Entrar com uma chave de acesso
add-passkey = Entre mais rápido da próxima vez com uma chave de acesso
app-code-label = Código do seu aplicativo autenticador
text-me-instead = Receber um código por SMS
app-codes-dead = Códigos errados demais. Para sua segurança, comece de novo ou peça um código por SMS.
app-code-used = Este código já foi usado. Aguarde o próximo código no seu aplicativo e digite esse.
app-code-for = Entrando como { $phone }.
code-sent = Enviamos um código para { $phone }. Ele vale por alguns minutos.
wrong-code =
    { $attempts ->
        [one] Esse código não está certo. Você tem mais 1 tentativa.
       *[other] Esse código não está certo. Você tem mais { $attempts } tentativas.
    }
resend-wait = Um código acabou de ser enviado: use esse. Você poderá pedir um novo código em { $wait }.
too-many-codes = Foram pedidos códigos demais. Tente de novo em { $wait }.
too-many-failures = Foram digitados códigos errados demais para este número. Tente de novo em { $wait }.
time-left = Conclua em até { $wait }; depois disso, esta página expira.
time-almost-up = Esta página de entrada está prestes a expirar: se o código não funcionar, volte ao aplicativo e comece de novo.

## Esperas, usadas dentro de outras mensagens como { $wait }

wait-seconds =
    { $n ->
        [one] 1 segundo
       *[other] { $n } segundos
    }
wait-minutes =
    { $n ->
        [one] 1 minuto
       *[other] { $n } minutos
    }
wait-hours =
    { $n ->
        [one] 1 hora
       *[other] { $n } horas
    }

## O que a pessoa digitou

phone-empty = Digite um número de telefone.
phone-not-a-number = Isso não parece um número de telefone.
phone-needs-country = Inclua o código do país, começando com + (por exemplo +55 11 91234-5678).
phone-invalid-for-country = Esse número não é válido para o país dele. Confira, por favor.
code-empty = Digite o código recebido por SMS.
code-not-digits = O código tem apenas algarismos.
code-length = O código tem { $digits } algarismos.

## A oferta de outro método depois de entrar por SMS

offer-title = Entre com mais segurança da próxima vez
set-up-app = Configurar um aplicativo autenticador
not-now = Agora não
app-title = Adicionar um aplicativo autenticador
app-scan = Escaneie este código com seu aplicativo autenticador (por exemplo Google Authenticator, Microsoft Authenticator, 1Password ou Aegis) e depois digite o código de 6 algarismos que ele mostrar.
app-qr-alt = Código QR para o seu aplicativo autenticador
app-secret-label = Não consegue escanear? Digite esta chave no aplicativo:
app-confirm = Adicionar o aplicativo
app-added-title = Aplicativo autenticador adicionado
app-added = Da próxima vez que entrar, você pode digitar um código do aplicativo em vez de esperar um SMS.
continue = Continuar
offer-expired = Esta página expirou. Volte ao aplicativo: você já entrou.

## Erros mostrados no formulário

wrong-code-dead = Códigos errados demais. Para sua segurança, este código não funciona mais: peça um novo.
code-expired = Este código expirou ou já foi usado. Peça um novo.
account-disabled = Esta conta não pode entrar. Entre em contato com o suporte.
country-not-served = Não podemos enviar códigos para números de telefone deste país.
number-type-not-served = Não podemos enviar códigos para este tipo de número. Use um número de celular.
sending-refused = Não podemos enviar um código agora. Tente de novo mais tarde.
directory-down = Não podemos verificar sua conta agora. Nada foi perdido: tente de novo em um minuto.
code-service-down = Não podemos enviar nem verificar códigos agora. Nada foi perdido: tente de novo em um minuto.
bot-check-failed = Não conseguimos confirmar que é uma pessoa pedindo este código. Conclua a verificação abaixo e envie o código de novo.
pow-working = Seu navegador está fazendo uma breve verificação de que há uma pessoa aqui.
pow-done = Verificação concluída.
needs-javascript = Antes de enviar um código, esta página verifica se é uma pessoa que está pedindo, e isso precisa de JavaScript: ative-o para este site e recarregue a página.
something-wrong = Algo deu errado do nosso lado. Tente de novo.

## Chaves de acesso

passkey-not-accepted = Esta chave de acesso não foi aceita.
passkey-expired = Este pedido de chave de acesso expirou: tente de novo.
passkey-sign-in-expired = Esta entrada expirou.
passkey-try-again = Tente de novo.
passkey-bad-request = Isto não é um pedido de chave de acesso.
passkey-form-expired = Este formulário expirou: recarregue a página.
passkey-not-offered = Chaves de acesso não são oferecidas aqui.
passkey-offer-expired = Esta oferta expirou.

## A página de consentimento

consent-title = Permitir acesso: { $client }
consent-intro = { $client } gostaria de:
consent-allow = Permitir
consent-deny = Recusar
consent-remember = Lembrar minha decisão para este aplicativo
consent-choose = Escolha o que compartilhar
consent-required = (obrigatório)
not-set = (não informado)
scope-openid = Saber quem você é
scope-openid-shares = Compartilha um identificador da sua conta
scope-profile = Ver seu nome
scope-profile-shares = Compartilha seu nome
scope-email = Ver seu endereço de e-mail
scope-email-shares = Compartilha seu endereço de e-mail
scope-phone = Ver seu número de telefone
scope-phone-shares = Compartilha seu número de telefone
scope-address = Ver seu endereço postal
scope-address-shares = Compartilha seu endereço postal
scope-offline_access = Continuar conectado quando você não estiver usando
scope-offline_access-shares = Mantém o acesso até você sair
scope-other = Usar a permissão “{ $scope }”
scope-other-shares = Dá o acesso que o aplicativo pediu

## Sair

logout-title = Sair
logout-from = Sair de { $client }
logout-yes = Sim, quero sair
logout-no = Não, continuar conectado
logout-question = Você quer sair?
still-signed-in = Você continua conectado. Pode fechar esta página.
logged-out = Você saiu. Pode fechar esta página.

## Páginas de erro

error-title = Algo deu errado
start-again = Volte ao aplicativo e comece de novo.
missing-challenge = Esta página precisa ser aberta pelo botão de entrar de um aplicativo. Volte ao aplicativo e comece de novo.
unknown-challenge = Este link de entrada expirou ou já foi usado. Volte ao aplicativo e comece de novo.
form-expired = Este formulário expirou, ou foi aberto em outro navegador ou com os cookies bloqueados. Volte ao aplicativo e comece de novo.
bad-form = O formulário não foi preenchido como esperávamos. Tente de novo.
hydra-down = O serviço de entrada não está acessível agora. Tente de novo em um minuto.
csrf-cause-other-tab = A entrada foi iniciada em outra aba, outra janela ou outro navegador.
csrf-cause-cookies = Seu navegador bloqueia cookies deste site: permita-os e tente de novo.
csrf-cause-old-page = A página foi aberta por um favorito antigo ou pelo botão Voltar.
try-again-button = Tentar de novo
address-too-long = Este endereço é longo demais para ser um link de entrada. Volte ao aplicativo e comece de novo.
sign-in-paused = Não conseguimos salvar sua entrada agora. Nada foi enviado nem usado: tente de novo em um minuto.
authorization-server-down = O serviço de entrada está reiniciando ou não está acessível agora. Tente de novo daqui a pouco.
back-to-app = Voltar ao aplicativo
start-again-button = Começar de novo
challenge-expired = Esta entrada demorou demais e expirou. Nada foi perdido: comece de novo.
not-found = Não há nenhuma página neste endereço.
error-code = Código de erro:

## Os códigos de erro do Hydra em palavras

oauth-access-denied = O acesso foi negado.
oauth-login-required = Você precisa entrar primeiro.
oauth-consent-required = Primeiro é preciso a sua permissão.
oauth-client-misconfigured = O aplicativo não está configurado corretamente para entrar.
oauth-bad-request = O aplicativo enviou um pedido de entrada que não conseguimos processar.
oauth-request-forbidden = Não foi possível verificar a entrada. Isso acontece quando ela foi iniciada em outra aba ou navegador, ou quando os cookies estão bloqueados.
oauth-other = Não foi possível concluir a entrada.

## O SMS. { $code } é obrigatório; { $app } é `sms.app_name`.

sms-code = Seu código de acesso do { $app } é { $code }

## Step-up to a passkey (`acr_values`) and the account page

passkey-only = Este aplicativo pede que você entre com uma chave de acesso: um SMS ou um código de aplicativo não basta aqui.
passkey-only-help = Se você ainda não tem uma chave de acesso, entre primeiro em outro aplicativo e adicione uma quando oferecermos, ou adicione uma na página da sua conta.
passkey-required-title = É preciso uma chave de acesso
passkey-required = Este aplicativo só aceita entrar com uma chave de acesso, e esta conta não tem nenhuma. Entre primeiro em outro aplicativo por SMS e adicione uma chave de acesso quando oferecermos; depois tente de novo.
back-to-app-button = Voltar ao aplicativo
account-title = Suas formas de entrar
account-intro = As chaves de acesso e os aplicativos autenticadores com que você pode entrar. Dê nomes a eles para saber qual é qual; remova os que você não tem mais.
account-not-signed-in = Você não entrou, por isso suas formas de entrar não são mostradas.
account-sign-in-expired = Esta entrada expirou ou foi iniciada em outro navegador. Abra de novo a página da sua conta.
no-methods = Você ainda não tem chave de acesso nem aplicativo autenticador: você entra com um código por SMS.
kind-app = Aplicativo autenticador
kind-app-pending = Aplicativo autenticador (configuração não concluída)
kind-passkey = Chave de acesso
never = nunca
method-name-label = Nome
rename = Renomear
remove = Remover
method-renamed = Nome alterado.
method-removed = Removido. Não serve mais para você entrar.
no-such-method = Essa forma de entrar não existe na sua conta.
last-way-in = Esta é sua última forma de entrar, por isso não pode ser removida. Adicione antes outra chave de acesso ou outro aplicativo.
bad-method-name = O nome precisa ter de 1 a 60 caracteres.
texts-to = Você também pode entrar com um código enviado por SMS para { $phone }.
added-on = adicionado: { $day }
last-used = último uso: { $day }
