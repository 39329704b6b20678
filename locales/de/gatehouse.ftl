# Gatehouse auf Deutsch. Schlüssel wie in locales/en/gatehouse.ftl;
# Anrede mit „Sie“.

## Die Anmeldeseite

sign-in = Anmelden
sign-in-to = Bei { $client } anmelden
phone-label = Telefonnummer
phone-help = Wir schicken Ihnen einen Code per SMS, mit dem Sie sich anmelden.
send-code = Code senden
code-label = Code aus der SMS
verify = Anmelden
resend = Neuen Code senden
change-number = Andere Nummer verwenden
remember-me = Auf diesem Gerät angemeldet bleiben
cancel = Abbrechen
risk-notice = Eine SMS kann abgefangen oder auf ein anderes Telefon umgeleitet werden; eine Authenticator-App oder ein Passkey bleibt auf Ihrem eigenen Gerät, und ein Passkey kann nicht durch Phishing erbeutet werden.
use-app = Stattdessen eine Authenticator-App verwenden
sign-in-with-passkey = Mit einem Passkey anmelden
add-passkey = Nächstes Mal schneller mit einem Passkey anmelden
app-code-label = Code aus Ihrer Authenticator-App
text-me-instead = Stattdessen einen Code per SMS erhalten
app-codes-dead = Zu viele falsche Codes. Zu Ihrer Sicherheit: Beginnen Sie von vorn oder lassen Sie sich einen Code per SMS schicken.
app-code-used = Dieser Code wurde bereits verwendet. Warten Sie auf den nächsten Code in Ihrer App und geben Sie diesen ein.
app-code-for = Anmeldung als { $phone }.
code-sent = Wir haben einen Code an { $phone } geschickt. Er ist einige Minuten lang gültig.
wrong-code =
    { $attempts ->
        [one] Dieser Code stimmt nicht. Sie haben noch 1 Versuch.
       *[other] Dieser Code stimmt nicht. Sie haben noch { $attempts } Versuche.
    }
resend-wait = Gerade eben wurde ein Code geschickt: Bitte verwenden Sie diesen. Einen neuen Code können Sie in { $wait } anfordern.
too-many-codes = Es wurden zu viele Codes angefordert. Bitte versuchen Sie es in { $wait } erneut.
too-many-failures = Für diese Nummer wurden zu viele falsche Codes eingegeben. Bitte versuchen Sie es in { $wait } erneut.
time-left = Bitte schließen Sie die Anmeldung innerhalb von { $wait } ab; danach läuft diese Seite ab.
time-almost-up = Diese Anmeldeseite läuft gleich ab: Wenn der Code nicht funktioniert, kehren Sie zur App zurück und beginnen Sie von vorn.

## Wartezeiten, in anderen Texten als { $wait }

wait-seconds =
    { $n ->
        [one] 1 Sekunde
       *[other] { $n } Sekunden
    }
wait-minutes =
    { $n ->
        [one] 1 Minute
       *[other] { $n } Minuten
    }
wait-hours =
    { $n ->
        [one] 1 Stunde
       *[other] { $n } Stunden
    }

## Eingaben

phone-empty = Bitte geben Sie eine Telefonnummer ein.
phone-not-a-number = Das sieht nicht nach einer Telefonnummer aus.
phone-needs-country = Bitte geben Sie die Nummer mit Ländervorwahl ein, beginnend mit + (zum Beispiel +49 151 23456789).
phone-invalid-for-country = Diese Nummer ist für ihr Land nicht gültig. Bitte prüfen Sie sie.
code-empty = Bitte geben Sie den Code aus der SMS ein.
code-not-digits = Der Code besteht nur aus Ziffern.
code-length = Der Code hat { $digits } Ziffern.

## Das Angebot einer weiteren Methode nach einer Anmeldung per SMS

offer-title = Nächstes Mal sicherer anmelden
set-up-app = Authenticator-App einrichten
not-now = Jetzt nicht
app-title = Authenticator-App hinzufügen
app-scan = Scannen Sie diesen Code mit Ihrer Authenticator-App (zum Beispiel Google Authenticator, Microsoft Authenticator, 1Password oder Aegis) und geben Sie dann den sechsstelligen Code ein, den sie anzeigt.
app-qr-alt = QR-Code für Ihre Authenticator-App
app-secret-label = Scannen nicht möglich? Geben Sie stattdessen diesen Schlüssel in die App ein:
app-confirm = App hinzufügen
app-added-title = Authenticator-App hinzugefügt
app-added = Bei der nächsten Anmeldung können Sie einen Code aus der App eingeben, statt auf eine SMS zu warten.
continue = Weiter
offer-expired = Diese Seite ist abgelaufen. Kehren Sie zur App zurück: Sie sind angemeldet.

## Fehler im Formular

wrong-code-dead = Zu viele falsche Codes. Zu Ihrer Sicherheit gilt dieser Code nicht mehr: Lassen Sie sich einen neuen schicken.
code-expired = Dieser Code ist abgelaufen oder wurde bereits verwendet. Lassen Sie sich einen neuen schicken.
account-disabled = Mit diesem Konto ist keine Anmeldung möglich. Bitte wenden Sie sich an den Support.
country-not-served = An Telefonnummern in diesem Land können wir keine Codes senden.
number-type-not-served = An diese Art von Nummer können wir keine Codes senden. Bitte verwenden Sie eine Mobilfunknummer.
sending-refused = Wir können gerade keinen Code senden. Bitte versuchen Sie es später erneut.
directory-down = Wir können Ihr Konto gerade nicht prüfen. Es ist nichts verloren: Bitte versuchen Sie es in einer Minute erneut.
code-service-down = Wir können gerade keine Codes senden oder prüfen. Es ist nichts verloren: Bitte versuchen Sie es in einer Minute erneut.
bot-check-failed = Wir konnten nicht bestätigen, dass ein Mensch diesen Code anfordert. Schließen Sie die Prüfung unten ab und senden Sie den Code dann erneut.
pow-working = Ihr Browser prüft kurz, ob hier ein Mensch ist.
pow-done = Prüfung abgeschlossen.
needs-javascript = Bevor ein Code gesendet wird, prüft diese Seite, ob ein Mensch ihn anfordert, und dafür ist JavaScript nötig: Aktivieren Sie es für diese Website und laden Sie die Seite neu.
something-wrong = Bei uns ist etwas schiefgegangen. Bitte versuchen Sie es erneut.

## Passkeys

passkey-not-accepted = Dieser Passkey wurde nicht akzeptiert.
passkey-expired = Diese Passkey-Anfrage ist abgelaufen: Bitte versuchen Sie es erneut.
passkey-sign-in-expired = Diese Anmeldung ist abgelaufen.
passkey-try-again = Bitte versuchen Sie es erneut.
passkey-bad-request = Das ist keine Passkey-Anfrage.
passkey-form-expired = Dieses Formular ist abgelaufen: Bitte laden Sie die Seite neu.
passkey-not-offered = Passkeys werden hier nicht angeboten.
passkey-offer-expired = Dieses Angebot ist abgelaufen.

## Die Zustimmungsseite

consent-title = Zugriff erlauben: { $client }
consent-intro = { $client } möchte:
consent-allow = Erlauben
consent-deny = Ablehnen
consent-remember = Meine Entscheidung für diese App speichern
consent-choose = Wählen Sie, was geteilt wird
consent-required = (erforderlich)
not-set = (nicht angegeben)
scope-openid = Wissen, wer Sie sind
scope-openid-shares = Teilt eine Kennung Ihres Kontos
scope-profile = Ihren Namen sehen
scope-profile-shares = Teilt Ihren Namen
scope-email = Ihre E-Mail-Adresse sehen
scope-email-shares = Teilt Ihre E-Mail-Adresse
scope-phone = Ihre Telefonnummer sehen
scope-phone-shares = Teilt Ihre Telefonnummer
scope-address = Ihre Postanschrift sehen
scope-address-shares = Teilt Ihre Postanschrift
scope-offline_access = Angemeldet bleiben, auch wenn Sie die App nicht verwenden
scope-offline_access-shares = Behält den Zugriff, bis Sie sich abmelden
scope-other = Die Berechtigung „{ $scope }“ nutzen
scope-other-shares = Gewährt den Zugriff, den die App angefragt hat

## Abmelden

logout-title = Abmelden
logout-from = Von { $client } abmelden
logout-yes = Ja, abmelden
logout-no = Nein, angemeldet bleiben
logout-question = Möchten Sie sich abmelden?
still-signed-in = Sie sind weiterhin angemeldet. Sie können diese Seite schließen.
logged-out = Sie sind abgemeldet. Sie können diese Seite schließen.

## Fehlerseiten

error-title = Etwas ist schiefgegangen
start-again = Kehren Sie zur App zurück und beginnen Sie von vorn.
missing-challenge = Diese Seite muss über die Anmeldeschaltfläche einer App geöffnet werden. Kehren Sie zur App zurück und beginnen Sie von vorn.
unknown-challenge = Dieser Anmeldelink ist abgelaufen oder wurde bereits verwendet. Kehren Sie zur App zurück und beginnen Sie von vorn.
form-expired = Dieses Formular ist abgelaufen, oder es wurde in einem anderen Browser oder mit blockierten Cookies geöffnet. Kehren Sie zur App zurück und beginnen Sie von vorn.
bad-form = Das Formular wurde nicht wie erwartet ausgefüllt. Bitte versuchen Sie es erneut.
hydra-down = Der Anmeldedienst ist gerade nicht erreichbar. Bitte versuchen Sie es in einer Minute erneut.
csrf-cause-other-tab = Die Anmeldung wurde in einem anderen Tab, Fenster oder Browser begonnen.
csrf-cause-cookies = Ihr Browser blockiert Cookies für diese Website: Erlauben Sie sie und versuchen Sie es erneut.
csrf-cause-old-page = Die Seite wurde über ein altes Lesezeichen oder die Zurück-Schaltfläche geöffnet.
try-again-button = Erneut versuchen
address-too-long = Diese Adresse ist zu lang für einen Anmeldelink. Kehren Sie zur App zurück und beginnen Sie von vorn.
sign-in-paused = Wir können Ihre Anmeldung gerade nicht speichern. Es wurde nichts gesendet oder verbraucht: Bitte versuchen Sie es in einer Minute erneut.
authorization-server-down = Der Anmeldedienst startet gerade neu oder ist nicht erreichbar. Bitte versuchen Sie es gleich noch einmal.
back-to-app = Stattdessen zur App zurückkehren
start-again-button = Von vorn beginnen
challenge-expired = Diese Anmeldung hat zu lange gedauert und ist abgelaufen. Es ist nichts verloren: Beginnen Sie von vorn.
not-found = Unter dieser Adresse gibt es keine Seite.
error-code = Fehlercode:

## Hydras Fehlercodes in Worten

oauth-access-denied = Der Zugriff wurde verweigert.
oauth-login-required = Sie müssen sich zuerst anmelden.
oauth-consent-required = Zuerst wird Ihre Zustimmung benötigt.
oauth-client-misconfigured = Die App ist für die Anmeldung nicht richtig eingerichtet.
oauth-bad-request = Die App hat eine Anmeldeanfrage gesendet, die wir nicht verarbeiten können.
oauth-request-forbidden = Die Anmeldung konnte nicht geprüft werden. Das passiert, wenn sie in einem anderen Tab oder Browser begonnen wurde oder wenn Cookies blockiert sind.
oauth-other = Die Anmeldung konnte nicht abgeschlossen werden.

## Die SMS. { $code } ist Pflicht; { $app } ist `sms.app_name`.

sms-code = Ihr { $app }-Anmeldecode lautet { $code }

## Step-up to a passkey (`acr_values`) and the account page

passkey-only = Diese App verlangt eine Anmeldung mit einem Passkey: Eine SMS oder ein App-Code reicht hier nicht aus.
passkey-only-help = Wenn Sie noch keinen Passkey haben, melden Sie sich zuerst bei einer anderen App an und fügen Sie einen hinzu, wenn wir es anbieten, oder fügen Sie einen auf Ihrer Kontoseite hinzu.
passkey-required-title = Ein Passkey ist nötig
passkey-required = Diese App akzeptiert nur eine Anmeldung mit einem Passkey, und für dieses Konto gibt es keinen. Melden Sie sich zuerst per SMS bei einer anderen App an und fügen Sie einen Passkey hinzu, wenn wir es anbieten; versuchen Sie es dann erneut.
back-to-app-button = Zurück zur App
account-title = Ihre Anmeldemethoden
account-intro = Die Passkeys und Authenticator-Apps, mit denen Sie sich anmelden können. Geben Sie ihnen Namen, um sie auseinanderzuhalten; entfernen Sie eine, die Sie nicht mehr haben.
account-not-signed-in = Sie haben sich nicht angemeldet, daher werden Ihre Anmeldemethoden nicht angezeigt.
account-sign-in-expired = Diese Anmeldung ist abgelaufen oder wurde in einem anderen Browser begonnen. Öffnen Sie die Kontoseite erneut.
no-methods = Sie haben noch keinen Passkey und keine Authenticator-App: Sie melden sich mit einem Code per SMS an.
kind-app = Authenticator-App
kind-app-pending = Authenticator-App (Einrichtung nicht abgeschlossen)
kind-passkey = Passkey
never = nie
method-name-label = Name
rename = Umbenennen
remove = Entfernen
method-renamed = Umbenannt.
method-removed = Entfernt. Damit können Sie sich nicht mehr anmelden.
no-such-method = Diese Anmeldemethode gibt es in Ihrem Konto nicht.
last-way-in = Dies ist Ihre letzte Möglichkeit, sich anzumelden; sie kann daher nicht entfernt werden. Fügen Sie zuerst einen weiteren Passkey oder eine weitere App hinzu.
bad-method-name = Ein Name braucht 1 bis 60 Zeichen.
texts-to = Sie können sich auch mit einem Code per SMS an { $phone } anmelden.
added-on = hinzugefügt: { $day }
last-used = zuletzt verwendet: { $day }
