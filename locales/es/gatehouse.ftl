# Gatehouse en español. Las mismas claves que locales/en/gatehouse.ftl;
# se trata de «tú».

## La página de inicio de sesión

sign-in = Iniciar sesión
sign-in-to = Iniciar sesión en { $client }
phone-label = Número de teléfono
phone-help = Te enviaremos un código por SMS para iniciar sesión.
send-code = Enviar código
code-label = Código del SMS
verify = Iniciar sesión
resend = Enviar un código nuevo
change-number = Usar otro número
remember-me = Mantener la sesión iniciada en este dispositivo
cancel = Cancelar
risk-notice = Un SMS puede ser interceptado o desviado a otro teléfono; una aplicación de autenticación o una llave de acceso se queda en tu propio dispositivo, y una llave de acceso no se puede robar con phishing.
use-app = Usar una aplicación de autenticación
sign-in-with-passkey = Iniciar sesión con una llave de acceso
add-passkey = Inicia sesión más rápido la próxima vez con una llave de acceso
app-code-label = Código de tu aplicación de autenticación
text-me-instead = Enviarme un código por SMS
app-codes-dead = Demasiados códigos incorrectos. Por tu seguridad, vuelve a empezar o pide que te enviemos un código por SMS.
app-code-used = Este código ya se ha usado. Espera al siguiente código de tu aplicación e introduce ese.
app-code-for = Inicias sesión como { $phone }.
code-sent = Hemos enviado un código al { $phone }. Es válido durante unos minutos.
wrong-code =
    { $attempts ->
        [one] Ese código no es correcto. Te queda 1 intento.
       *[other] Ese código no es correcto. Te quedan { $attempts } intentos.
    }
resend-wait = Se acaba de enviar un código: úsalo. Podrás pedir uno nuevo dentro de { $wait }.
too-many-codes = Se han pedido demasiados códigos. Inténtalo de nuevo dentro de { $wait }.
too-many-failures = Se han introducido demasiados códigos incorrectos para este número. Inténtalo de nuevo dentro de { $wait }.
time-left = Termina en menos de { $wait }; después, esta página caduca.
time-almost-up = Esta página de inicio de sesión está a punto de caducar: si el código no funciona, vuelve a la aplicación y empieza de nuevo.

## Esperas, usadas dentro de otros mensajes como { $wait }

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

## Lo que la persona escribió

phone-empty = Introduce un número de teléfono.
phone-not-a-number = Eso no parece un número de teléfono.
phone-needs-country = Incluye el prefijo del país, empezando por + (por ejemplo +34 612 34 56 78).
phone-invalid-for-country = Ese número no es válido para su país. Compruébalo.
code-empty = Introduce el código del SMS.
code-not-digits = El código solo tiene dígitos.
code-length = El código tiene { $digits } dígitos.

## La oferta de otro método tras iniciar sesión por SMS

offer-title = Inicia sesión de forma más segura la próxima vez
set-up-app = Configurar una aplicación de autenticación
not-now = Ahora no
app-title = Añadir una aplicación de autenticación
app-scan = Escanea este código con tu aplicación de autenticación (por ejemplo Google Authenticator, Microsoft Authenticator, 1Password o Aegis) y luego introduce el código de 6 dígitos que muestre.
app-qr-alt = Código QR para tu aplicación de autenticación
app-secret-label = ¿No puedes escanearlo? Introduce esta clave en la aplicación:
app-confirm = Añadir la aplicación
app-added-title = Aplicación de autenticación añadida
app-added = La próxima vez que inicies sesión, podrás introducir un código de la aplicación en lugar de esperar un SMS.
continue = Continuar
offer-expired = Esta página ha caducado. Vuelve a la aplicación: ya has iniciado sesión.

## Errores en el formulario

wrong-code-dead = Demasiados códigos incorrectos. Por tu seguridad, este código ya no funciona: pide uno nuevo.
code-expired = Este código ha caducado o ya se ha usado. Pide uno nuevo.
account-disabled = Esta cuenta no puede iniciar sesión. Ponte en contacto con el servicio de asistencia.
country-not-served = No podemos enviar códigos a números de teléfono de este país.
number-type-not-served = No podemos enviar códigos a este tipo de número. Usa un número de móvil.
sending-refused = Ahora mismo no podemos enviar un código. Inténtalo de nuevo más tarde.
directory-down = Ahora mismo no podemos comprobar tu cuenta. No se ha perdido nada: inténtalo de nuevo dentro de un minuto.
code-service-down = Ahora mismo no podemos enviar ni comprobar códigos. No se ha perdido nada: inténtalo de nuevo dentro de un minuto.
bot-check-failed = No hemos podido confirmar que sea una persona quien pide este código. Completa la comprobación de abajo y vuelve a enviar el código.
pow-working = Tu navegador está haciendo una breve comprobación de que hay una persona.
pow-done = Comprobación terminada.
needs-javascript = Antes de enviar un código, esta página comprueba que lo pide una persona, y para eso necesita JavaScript: actívalo para este sitio y vuelve a cargar la página.
something-wrong = Algo ha fallado por nuestra parte. Inténtalo de nuevo.

## Llaves de acceso

passkey-not-accepted = Esta llave de acceso no se ha aceptado.
passkey-expired = Esta solicitud de llave de acceso ha caducado: inténtalo de nuevo.
passkey-sign-in-expired = Este inicio de sesión ha caducado.
passkey-try-again = Inténtalo de nuevo.
passkey-bad-request = No es una solicitud de llave de acceso.
passkey-form-expired = Este formulario ha caducado: vuelve a cargar la página.
passkey-not-offered = Aquí no se ofrecen llaves de acceso.
passkey-offer-expired = Esta oferta ha caducado.

## La página de consentimiento

consent-title = Permitir el acceso: { $client }
consent-intro = { $client } quiere:
consent-allow = Permitir
consent-deny = Denegar
consent-remember = Recordar mi decisión para esta aplicación
consent-choose = Elige qué compartes
consent-required = (obligatorio)
not-set = (sin indicar)
scope-openid = Saber quién eres
scope-openid-shares = Comparte un identificador de tu cuenta
scope-profile = Ver tu nombre
scope-profile-shares = Comparte tu nombre
scope-email = Ver tu dirección de correo electrónico
scope-email-shares = Comparte tu dirección de correo electrónico
scope-phone = Ver tu número de teléfono
scope-phone-shares = Comparte tu número de teléfono
scope-address = Ver tu dirección postal
scope-address-shares = Comparte tu dirección postal
scope-offline_access = Mantener la sesión cuando no la estás usando
scope-offline_access-shares = Conserva el acceso hasta que cierres la sesión
scope-other = Usar el permiso «{ $scope }»
scope-other-shares = Da el acceso que ha pedido la aplicación

## Cerrar sesión

logout-title = Cerrar sesión
logout-from = Cerrar sesión en { $client }
logout-yes = Sí, cerrar sesión
logout-no = No, mantener la sesión
logout-question = ¿Quieres cerrar sesión?
still-signed-in = Sigues con la sesión iniciada. Puedes cerrar esta página.
logged-out = Has cerrado sesión. Puedes cerrar esta página.

## Páginas de error

error-title = Algo ha fallado
start-again = Vuelve a la aplicación y empieza de nuevo.
missing-challenge = Esta página debe abrirse desde el botón de inicio de sesión de una aplicación. Vuelve a la aplicación y empieza de nuevo.
unknown-challenge = Este enlace de inicio de sesión ha caducado o ya se ha usado. Vuelve a la aplicación y empieza de nuevo.
form-expired = Este formulario ha caducado, o se abrió en otro navegador o con las cookies bloqueadas. Vuelve a la aplicación y empieza de nuevo.
bad-form = El formulario no se ha rellenado como esperábamos. Inténtalo de nuevo.
hydra-down = El servicio de inicio de sesión no está disponible ahora mismo. Inténtalo de nuevo dentro de un minuto.
csrf-cause-other-tab = El inicio de sesión se empezó en otra pestaña, otra ventana u otro navegador.
csrf-cause-cookies = Tu navegador bloquea las cookies de este sitio: permítelas e inténtalo de nuevo.
csrf-cause-old-page = La página se abrió desde un marcador antiguo o con el botón Atrás.
try-again-button = Intentar de nuevo
address-too-long = Esta dirección es demasiado larga para ser un enlace de inicio de sesión. Vuelve a la aplicación y empieza de nuevo.
sign-in-paused = Ahora mismo no podemos guardar tu inicio de sesión. No se ha enviado ni gastado nada: inténtalo de nuevo dentro de un minuto.
authorization-server-down = El servicio de inicio de sesión se está reiniciando o no está disponible. Inténtalo de nuevo en un momento.
back-to-app = Volver a la aplicación
start-again-button = Empezar de nuevo
challenge-expired = Este inicio de sesión ha tardado demasiado y ha caducado. No se ha perdido nada: empieza de nuevo.
not-found = No hay ninguna página en esta dirección.
error-code = Código de error:

## Los códigos de error de Hydra en palabras

oauth-access-denied = Se ha denegado el acceso.
oauth-login-required = Primero tienes que iniciar sesión.
oauth-consent-required = Primero hace falta tu permiso.
oauth-client-misconfigured = La aplicación no está bien configurada para iniciar sesión.
oauth-bad-request = La aplicación ha enviado una solicitud de inicio de sesión que no podemos procesar.
oauth-request-forbidden = No se ha podido comprobar el inicio de sesión. Esto ocurre cuando se empezó en otra pestaña u otro navegador, o cuando las cookies están bloqueadas.
oauth-other = No se ha podido completar el inicio de sesión.

## El SMS. { $code } es obligatorio; { $app } es `sms.app_name`.

sms-code = Tu código de inicio de sesión de { $app } es { $code }

## Step-up to a passkey (`acr_values`) and the account page

passkey-only = Esta aplicación te pide iniciar sesión con una llave de acceso: un SMS o un código de aplicación no basta aquí.
passkey-only-help = Si aún no tienes una llave de acceso, inicia sesión primero en otra aplicación y añade una cuando te lo ofrezcamos, o añádela en la página de tu cuenta.
passkey-required-title = Se necesita una llave de acceso
passkey-required = Esta aplicación solo acepta un inicio de sesión con llave de acceso, y esta cuenta no tiene ninguna. Inicia sesión primero en otra aplicación por SMS y añade una llave de acceso cuando te lo ofrezcamos; luego vuelve a intentarlo.
back-to-app-button = Volver a la aplicación
account-title = Tus métodos de inicio de sesión
account-intro = Las llaves de acceso y aplicaciones de autenticación con las que puedes iniciar sesión. Ponles nombre para distinguirlas; elimina las que ya no tengas.
account-not-signed-in = No iniciaste sesión, así que no se muestran tus métodos de inicio de sesión.
account-sign-in-expired = Este inicio de sesión ha caducado o se empezó en otro navegador. Abre de nuevo la página de tu cuenta.
no-methods = Aún no tienes llave de acceso ni aplicación de autenticación: inicias sesión con un código por SMS.
kind-app = Aplicación de autenticación
kind-app-pending = Aplicación de autenticación (configuración sin terminar)
kind-passkey = Llave de acceso
never = nunca
method-name-label = Nombre
rename = Cambiar nombre
remove = Eliminar
method-renamed = Nombre cambiado.
method-removed = Eliminado. Ya no permite iniciar sesión.
no-such-method = Ese método de inicio de sesión no existe en tu cuenta.
last-way-in = Es tu última forma de iniciar sesión, así que no se puede eliminar. Añade antes otra llave de acceso u otra aplicación.
bad-method-name = El nombre debe tener entre 1 y 60 caracteres.
texts-to = También puedes iniciar sesión con un código enviado por SMS al { $phone }.
added-on = añadido: { $day }
last-used = último uso: { $day }
