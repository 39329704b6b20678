# Gatehouse en français. Mêmes clés que locales/en/gatehouse.ftl ;
# on vouvoie.

## La page de connexion

sign-in = Se connecter
sign-in-to = Se connecter à { $client }
phone-label = Numéro de téléphone
phone-help = Nous vous enverrons un code par SMS pour vous connecter.
send-code = Envoyer le code
code-label = Code reçu par SMS
verify = Se connecter
resend = Envoyer un nouveau code
change-number = Utiliser un autre numéro
remember-me = Rester connecté sur cet appareil
cancel = Annuler
risk-notice = Un SMS peut être intercepté ou détourné vers un autre téléphone ; une application d’authentification ou une clé d’accès reste sur votre propre appareil, et une clé d’accès ne peut pas être hameçonnée.
use-app = Utiliser plutôt une application d’authentification
sign-in-with-passkey = Se connecter avec une clé d’accès
add-passkey = Connectez-vous plus vite la prochaine fois avec une clé d’accès
app-code-label = Code de votre application d’authentification
text-me-instead = M’envoyer plutôt un code par SMS
app-codes-dead = Trop de codes erronés. Pour votre sécurité, recommencez ou faites-vous envoyer un code par SMS.
app-code-used = Ce code a déjà été utilisé. Attendez le code suivant dans votre application et saisissez celui-là.
app-code-for = Connexion en tant que { $phone }.
code-sent = Nous avons envoyé un code au { $phone }. Il est valable quelques minutes.
wrong-code =
    { $attempts ->
        [one] Ce code n’est pas le bon. Il vous reste 1 essai.
       *[other] Ce code n’est pas le bon. Il vous reste { $attempts } essais.
    }
resend-wait = Un code vient d’être envoyé : utilisez-le. Vous pourrez demander un nouveau code dans { $wait }.
too-many-codes = Trop de codes ont été demandés. Veuillez réessayer dans { $wait }.
too-many-failures = Trop de codes erronés ont été saisis pour ce numéro. Veuillez réessayer dans { $wait }.
time-left = Veuillez terminer d’ici { $wait } ; passé ce délai, cette page expire.
time-almost-up = Cette page de connexion va bientôt expirer : si le code ne fonctionne pas, revenez à l’application et recommencez.

## Délais, utilisés dans d’autres messages comme { $wait }

wait-seconds =
    { $n ->
        [one] { $n } seconde
       *[other] { $n } secondes
    }
wait-minutes =
    { $n ->
        [one] { $n } minute
       *[other] { $n } minutes
    }
wait-hours =
    { $n ->
        [one] { $n } heure
       *[other] { $n } heures
    }

## Ce que la personne a saisi

phone-empty = Veuillez saisir un numéro de téléphone.
phone-not-a-number = Cela ne ressemble pas à un numéro de téléphone.
phone-needs-country = Veuillez indiquer l’indicatif du pays, en commençant par + (par exemple +33 6 12 34 56 78).
phone-invalid-for-country = Ce numéro n’est pas valide pour son pays. Veuillez le vérifier.
code-empty = Veuillez saisir le code reçu par SMS.
code-not-digits = Le code ne contient que des chiffres.
code-length = Le code comporte { $digits } chiffres.

## L’offre d’une autre méthode après une connexion par SMS

offer-title = Connectez-vous de façon plus sûre la prochaine fois
set-up-app = Configurer une application d’authentification
not-now = Pas maintenant
app-title = Ajouter une application d’authentification
app-scan = Scannez ce code avec votre application d’authentification (par exemple Google Authenticator, Microsoft Authenticator, 1Password ou Aegis), puis saisissez le code à 6 chiffres qu’elle affiche.
app-qr-alt = Code QR pour votre application d’authentification
app-secret-label = Impossible de scanner ? Saisissez plutôt cette clé dans l’application :
app-confirm = Ajouter l’application
app-added-title = Application d’authentification ajoutée
app-added = À votre prochaine connexion, vous pourrez saisir un code de l’application au lieu d’attendre un SMS.
continue = Continuer
offer-expired = Cette page a expiré. Revenez à l’application : vous êtes connecté.

## Erreurs affichées dans le formulaire

wrong-code-dead = Trop de codes erronés. Pour votre sécurité, ce code ne fonctionne plus : demandez-en un nouveau.
code-expired = Ce code a expiré ou a déjà été utilisé. Demandez-en un nouveau.
account-disabled = Ce compte ne peut pas se connecter. Veuillez contacter l’assistance.
country-not-served = Nous ne pouvons pas envoyer de codes aux numéros de ce pays.
number-type-not-served = Nous ne pouvons pas envoyer de codes à ce type de numéro. Veuillez utiliser un numéro de mobile.
sending-refused = Nous ne pouvons pas envoyer de code pour le moment. Veuillez réessayer plus tard.
directory-down = Nous ne pouvons pas vérifier votre compte pour le moment. Rien n’est perdu : veuillez réessayer dans une minute.
code-service-down = Nous ne pouvons ni envoyer ni vérifier de codes pour le moment. Rien n’est perdu : veuillez réessayer dans une minute.
bot-check-failed = Nous n’avons pas pu confirmer que c’est bien une personne qui demande ce code. Effectuez la vérification ci-dessous, puis renvoyez le code.
pow-working = Votre navigateur vérifie brièvement qu’une personne est bien là.
pow-done = Vérification terminée.
needs-javascript = Avant d’envoyer un code, cette page vérifie que c’est bien une personne qui le demande, ce qui nécessite JavaScript : activez-le pour ce site et rechargez la page.
something-wrong = Un problème est survenu de notre côté. Veuillez réessayer.

## Clés d’accès

passkey-not-accepted = Cette clé d’accès n’a pas été acceptée.
passkey-expired = Cette demande de clé d’accès a expiré : réessayez.
passkey-sign-in-expired = Cette connexion a expiré.
passkey-try-again = Veuillez réessayer.
passkey-bad-request = Ce n’est pas une demande de clé d’accès.
passkey-form-expired = Ce formulaire a expiré : rechargez la page.
passkey-not-offered = Les clés d’accès ne sont pas proposées ici.
passkey-offer-expired = Cette offre a expiré.

## La page d’autorisation

consent-title = Autoriser l’accès : { $client }
consent-intro = { $client } souhaite :
consent-allow = Autoriser
consent-deny = Refuser
consent-remember = Mémoriser ma décision pour cette application
consent-choose = Choisissez ce que vous partagez
consent-required = (obligatoire)
not-set = (non renseigné)
scope-openid = Savoir qui vous êtes
scope-openid-shares = Partage un identifiant de votre compte
scope-profile = Voir votre nom
scope-profile-shares = Partage votre nom
scope-email = Voir votre adresse e-mail
scope-email-shares = Partage votre adresse e-mail
scope-phone = Voir votre numéro de téléphone
scope-phone-shares = Partage votre numéro de téléphone
scope-address = Voir votre adresse postale
scope-address-shares = Partage votre adresse postale
scope-offline_access = Rester connecté quand vous ne l’utilisez pas
scope-offline_access-shares = Conserve l’accès jusqu’à votre déconnexion
scope-other = Utiliser l’autorisation « { $scope } »
scope-other-shares = Donne l’accès demandé par l’application

## Déconnexion

logout-title = Se déconnecter
logout-from = Se déconnecter de { $client }
logout-yes = Oui, me déconnecter
logout-no = Non, rester connecté
logout-question = Voulez-vous vous déconnecter ?
still-signed-in = Vous êtes toujours connecté. Vous pouvez fermer cette page.
logged-out = Vous êtes déconnecté. Vous pouvez fermer cette page.

## Pages d’erreur

error-title = Un problème est survenu
start-again = Revenez à l’application et recommencez.
missing-challenge = Cette page doit être ouverte depuis le bouton de connexion d’une application. Revenez à l’application et recommencez.
unknown-challenge = Ce lien de connexion a expiré ou a déjà été utilisé. Revenez à l’application et recommencez.
form-expired = Ce formulaire a expiré, ou il a été ouvert dans un autre navigateur ou avec les cookies bloqués. Revenez à l’application et recommencez.
bad-form = Le formulaire n’a pas été rempli comme prévu. Veuillez réessayer.
hydra-down = Le service de connexion est injoignable pour le moment. Veuillez réessayer dans une minute.
csrf-cause-other-tab = La connexion a été commencée dans un autre onglet, une autre fenêtre ou un autre navigateur.
csrf-cause-cookies = Votre navigateur bloque les cookies pour ce site : autorisez-les et réessayez.
csrf-cause-old-page = La page a été ouverte depuis un ancien favori ou avec le bouton Retour.
try-again-button = Réessayer
address-too-long = Cette adresse est trop longue pour être un lien de connexion. Revenez à l’application et recommencez.
sign-in-paused = Nous ne pouvons pas enregistrer votre connexion pour le moment. Rien n’a été envoyé ni utilisé : veuillez réessayer dans une minute.
authorization-server-down = Le service de connexion redémarre ou est injoignable pour le moment. Veuillez réessayer dans un instant.
back-to-app = Revenir plutôt à l’application
start-again-button = Recommencer
challenge-expired = Cette connexion a pris trop de temps et a expiré. Rien n’est perdu : recommencez.
not-found = Il n’y a pas de page à cette adresse.
error-code = Code d’erreur :

## Les codes d’erreur de Hydra en clair

oauth-access-denied = L’accès a été refusé.
oauth-login-required = Vous devez d’abord vous connecter.
oauth-consent-required = Votre autorisation est d’abord nécessaire.
oauth-client-misconfigured = L’application n’est pas correctement configurée pour la connexion.
oauth-bad-request = L’application a envoyé une demande de connexion que nous ne pouvons pas traiter.
oauth-request-forbidden = La connexion n’a pas pu être vérifiée. Cela arrive quand elle a été commencée dans un autre onglet ou navigateur, ou quand les cookies sont bloqués.
oauth-other = La connexion n’a pas pu aboutir.

## Le SMS. { $code } est obligatoire ; { $app } est `sms.app_name`.

sms-code = Votre code de connexion { $app } est { $code }

## Step-up to a passkey (`acr_values`) and the account page

passkey-only = Cette application vous demande de vous connecter avec une clé d’accès : un SMS ou un code d’application ne suffit pas ici.
passkey-only-help = Si vous n’avez pas encore de clé d’accès, connectez-vous d’abord à une autre application et ajoutez-en une quand nous vous le proposons, ou ajoutez-en une sur la page de votre compte.
passkey-required-title = Une clé d’accès est nécessaire
passkey-required = Cette application n’accepte qu’une connexion avec une clé d’accès, et ce compte n’en a aucune. Connectez-vous d’abord à une autre application par SMS et ajoutez une clé d’accès quand nous vous le proposons, puis réessayez.
back-to-app-button = Retour à l’application
account-title = Vos méthodes de connexion
account-intro = Les clés d’accès et applications d’authentification avec lesquelles vous pouvez vous connecter. Nommez-les pour les reconnaître ; supprimez celles que vous n’avez plus.
account-not-signed-in = Vous ne vous êtes pas connecté : vos méthodes de connexion ne sont donc pas affichées.
account-sign-in-expired = Cette connexion a expiré ou a été commencée dans un autre navigateur. Ouvrez à nouveau la page de votre compte.
no-methods = Vous n’avez encore ni clé d’accès ni application d’authentification : vous vous connectez avec un code reçu par SMS.
kind-app = Application d’authentification
kind-app-pending = Application d’authentification (configuration non terminée)
kind-passkey = Clé d’accès
never = jamais
method-name-label = Nom
rename = Renommer
remove = Supprimer
method-renamed = Nom modifié.
method-removed = Méthode supprimée. Elle ne permet plus de vous connecter.
no-such-method = Cette méthode de connexion n’existe pas sur votre compte.
last-way-in = C’est votre dernier moyen de vous connecter : il ne peut pas être supprimé. Ajoutez d’abord une autre clé d’accès ou application.
bad-method-name = Un nom doit compter de 1 à 60 caractères.
texts-to = Vous pouvez aussi vous connecter avec un code envoyé par SMS au { $phone }.
added-on = ajout : { $day }
last-used = dernière utilisation : { $day }
