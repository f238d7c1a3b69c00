package web

import (
	"fmt"

	"golang.org/x/text/language"
	"golang.org/x/text/message/catalog"
)

// The catalogue entries of security keys and passkeys (keys.go). They are
// added to messagesEN and messagesSV here, and to the built catalogue,
// which package initialisation has already made from the two tables.
func init() {
	b := cat.(*catalog.Builder)
	for _, c := range []struct {
		tag  language.Tag
		dst  map[string]string
		msgs map[string]string
	}{{language.English, messagesEN, keyMessagesEN}, {language.Swedish, messagesSV, keyMessagesSV}} {
		for k, m := range c.msgs {
			c.dst[k] = m
			if err := b.SetString(c.tag, k, m); err != nil {
				panic(fmt.Sprintf("web: message %s: %v", k, err))
			}
		}
	}
}

var keyMessagesEN = map[string]string{
	// The add list offers both kinds under one entry.
	"kind.fido2":                          "Security key or passkey",
	"kind.fido2.hint":                     "Sign in with a key you plug in or touch, or with your device's fingerprint, face or PIN. The safest choice.",
	"method.fido2":                        "Security key or passkey",
	"kind.fido2.securityKey":              "Security key",
	"kind.fido2.passkey":                  "Passkey",
	"kind.fido2.synced":                   "Passkey (synced)",
	"key.added":                           "Added %s",
	"key.model":                           "model ID %s",
	"key.needsScript":                     "A security key or passkey needs JavaScript. Turn it on in your browser, or use another way.",
	"key.retry":                           "Try the security key again",
	"key.err.cancelled":                   "The security key or passkey was not used: the request was cancelled, timed out, or the key is not registered for your account. Try again, or sign in another way.",
	"key.err.already":                     "This security key or passkey is already registered. Use another key.",
	"key.err.unsupported":                 "This browser cannot use security keys or passkeys here. Use another way or another browser.",
	"key.err.failed":                      "Something went wrong with the security key or passkey. Try again.",
	"key.mfa.heading":                     "Use your security key",
	"key.mfa.lead":                        "Have your security key or passkey ready. When your browser asks, touch the key or use your fingerprint, face or PIN.",
	"key.mfa.button":                      "Use security key",
	"key.passkey.start":                   "Sign in with a passkey",
	"key.passkey.heading":                 "Sign in with a passkey",
	"key.passkey.lead":                    "You do not need your user name: your browser lets you choose a passkey saved for this site, then asks for your fingerprint, face or PIN.",
	"key.passkey.button":                  "Choose a passkey",
	"key.passkey.other":                   "Sign in with a user name instead",
	"key.register.lead":                   "Or use a security key or a passkey: you sign in by touching the key or with your device's fingerprint, face or PIN.",
	"key.register.passkey":                "Passkey",
	"key.register.key":                    "Security key",
	"key.add.passkeyHeading":              "Add a passkey",
	"key.add.keyHeading":                  "Add a security key",
	"key.add.lead":                        "When your browser asks, insert or touch your key, or use your fingerprint, face or PIN.",
	"key.add.button":                      "Continue",
	"key.name":                            "Name (optional)",
	"key.nameHint":                        "So you can tell your keys apart, for example Blue key or Work laptop.",
	"key.si.heading":                      "Add a security key or passkey",
	"key.si.lead":                         "Both sign you in without a code and cannot be phished.",
	"key.si.legend":                       "What do you want to add?",
	"key.si.passkeyHint":                  "Signs you in without a user name or password, from this device or your phone. Saved on the device or in your password manager.",
	"key.si.keyHint":                      "A USB, NFC or Bluetooth key, asked for after your password.",
	"err.malformed":                       "The answer from your security key could not be read. Try again.",
	"err.challengeMismatch":               "This request is out of date. Try again.",
	"err.originMismatch":                  "Your security key answered for another site. Make sure you are on the right address.",
	"err.rpIdMismatch":                    "Your security key answered for another site. Make sure you are on the right address.",
	"err.userNotVerified":                 "Your key did not check your fingerprint, face or PIN. Try again and verify yourself on the key.",
	"err.userNotPresent":                  "Touch your security key when asked, then try again.",
	"err.wrongCeremonyType":               "Your security key gave the wrong kind of answer. Try again.",
	"err.unknownCredential":               "This security key or passkey is not registered for your account. Use another, or sign in another way.",
	"err.signCounterRegressed":            "Your security key could not be verified. Try again; if it keeps happening, contact your administrator.",
	"err.ceremonyExpired":                 "The request took too long. Try again.",
	"err.verificationFailed":              "Your security key or passkey could not be verified. Try again.",
	"err.aaguidBlocked":                   "Your organisation does not allow this make and model of security key or passkey. Use another, or sign in another way.",
	"err.aaguidNotAllowed":                "Your organisation does not allow this make and model of security key or passkey. Use another, or sign in another way.",
	"err.attestationRequired":             "Your organisation accepts only security keys that prove their make and model. Use another key.",
	"err.noKeyRequest":                    "There is no security key request to answer. Try again.",
	"err.noKeyRegistered":                 "You have no security key or passkey registered. Sign in another way.",
	"err.keyAlreadyRegistered":            "This security key or passkey is already registered.",
	"err.selfServiceRegistrationDisabled": "Your organisation does not let you add security keys or passkeys yourself. Contact your administrator.",
	"err.fido2Unavailable":                "Security keys and passkeys are not available on this site.",
	"err.registrationNotFound":            "The request has expired. Start again.",
	"err.methodNotOffered":                "This cannot be added here.",
}

var keyMessagesSV = map[string]string{
	"kind.fido2":                          "Säkerhetsnyckel eller nyckel för inloggning",
	"kind.fido2.hint":                     "Logga in med en nyckel som du ansluter eller rör vid, eller med enhetens fingeravtryck, ansikte eller PIN-kod. Det säkraste valet.",
	"method.fido2":                        "Säkerhetsnyckel eller nyckel för inloggning",
	"kind.fido2.securityKey":              "Säkerhetsnyckel",
	"kind.fido2.passkey":                  "Nyckel för inloggning",
	"kind.fido2.synced":                   "Nyckel för inloggning (synkad)",
	"key.added":                           "Tillagd %s",
	"key.model":                           "modell-id %s",
	"key.needsScript":                     "En säkerhetsnyckel eller nyckel för inloggning kräver JavaScript. Aktivera det i webbläsaren eller använd ett annat sätt.",
	"key.retry":                           "Försök med säkerhetsnyckeln igen",
	"key.err.cancelled":                   "Säkerhetsnyckeln eller nyckeln för inloggning användes inte: begäran avbröts, tog för lång tid eller så är nyckeln inte registrerad för ditt konto. Försök igen eller logga in på ett annat sätt.",
	"key.err.already":                     "Den här säkerhetsnyckeln eller nyckeln för inloggning är redan registrerad. Använd en annan nyckel.",
	"key.err.unsupported":                 "Den här webbläsaren kan inte använda säkerhetsnycklar eller nycklar för inloggning här. Använd ett annat sätt eller en annan webbläsare.",
	"key.err.failed":                      "Något gick fel med säkerhetsnyckeln eller nyckeln för inloggning. Försök igen.",
	"key.mfa.heading":                     "Använd din säkerhetsnyckel",
	"key.mfa.lead":                        "Ha din säkerhetsnyckel eller nyckel för inloggning redo. När webbläsaren frågar rör du vid nyckeln eller använder fingeravtryck, ansikte eller PIN-kod.",
	"key.mfa.button":                      "Använd säkerhetsnyckel",
	"key.passkey.start":                   "Logga in med en nyckel för inloggning",
	"key.passkey.heading":                 "Logga in med en nyckel för inloggning",
	"key.passkey.lead":                    "Du behöver inte ditt användarnamn: webbläsaren låter dig välja en nyckel som sparats för den här webbplatsen och frågar sedan efter fingeravtryck, ansikte eller PIN-kod.",
	"key.passkey.button":                  "Välj en nyckel",
	"key.passkey.other":                   "Logga in med användarnamn i stället",
	"key.register.lead":                   "Eller använd en säkerhetsnyckel eller en nyckel för inloggning: du loggar in genom att röra vid nyckeln eller med enhetens fingeravtryck, ansikte eller PIN-kod.",
	"key.register.passkey":                "Nyckel för inloggning",
	"key.register.key":                    "Säkerhetsnyckel",
	"key.add.passkeyHeading":              "Lägg till en nyckel för inloggning",
	"key.add.keyHeading":                  "Lägg till en säkerhetsnyckel",
	"key.add.lead":                        "När webbläsaren frågar sätter du i eller rör vid nyckeln, eller använder fingeravtryck, ansikte eller PIN-kod.",
	"key.add.button":                      "Fortsätt",
	"key.name":                            "Namn (valfritt)",
	"key.nameHint":                        "Så att du kan skilja dina nycklar åt, till exempel Blå nyckel eller Jobbdator.",
	"key.si.heading":                      "Lägg till en säkerhetsnyckel eller nyckel för inloggning",
	"key.si.lead":                         "Båda loggar in dig utan kod och kan inte nätfiskas.",
	"key.si.legend":                       "Vad vill du lägga till?",
	"key.si.passkeyHint":                  "Loggar in dig utan användarnamn eller lösenord, från den här enheten eller din telefon. Sparas på enheten eller i din lösenordshanterare.",
	"key.si.keyHint":                      "En nyckel med USB, NFC eller Bluetooth, som efterfrågas efter lösenordet.",
	"err.malformed":                       "Svaret från säkerhetsnyckeln kunde inte läsas. Försök igen.",
	"err.challengeMismatch":               "Begäran är inaktuell. Försök igen.",
	"err.originMismatch":                  "Säkerhetsnyckeln svarade för en annan webbplats. Kontrollera att du är på rätt adress.",
	"err.rpIdMismatch":                    "Säkerhetsnyckeln svarade för en annan webbplats. Kontrollera att du är på rätt adress.",
	"err.userNotVerified":                 "Nyckeln kontrollerade inte ditt fingeravtryck, ansikte eller din PIN-kod. Försök igen och verifiera dig på nyckeln.",
	"err.userNotPresent":                  "Rör vid säkerhetsnyckeln när du blir ombedd och försök sedan igen.",
	"err.wrongCeremonyType":               "Säkerhetsnyckeln gav fel sorts svar. Försök igen.",
	"err.unknownCredential":               "Den här säkerhetsnyckeln eller nyckeln för inloggning är inte registrerad för ditt konto. Använd en annan eller logga in på ett annat sätt.",
	"err.signCounterRegressed":            "Säkerhetsnyckeln kunde inte verifieras. Försök igen; kontakta administratören om det fortsätter.",
	"err.ceremonyExpired":                 "Begäran tog för lång tid. Försök igen.",
	"err.verificationFailed":              "Säkerhetsnyckeln eller nyckeln för inloggning kunde inte verifieras. Försök igen.",
	"err.aaguidBlocked":                   "Din organisation tillåter inte det här märket och modellen av säkerhetsnyckel eller nyckel för inloggning. Använd en annan eller logga in på ett annat sätt.",
	"err.aaguidNotAllowed":                "Din organisation tillåter inte det här märket och modellen av säkerhetsnyckel eller nyckel för inloggning. Använd en annan eller logga in på ett annat sätt.",
	"err.attestationRequired":             "Din organisation godtar bara säkerhetsnycklar som kan styrka märke och modell. Använd en annan nyckel.",
	"err.noKeyRequest":                    "Det finns ingen begäran från säkerhetsnyckeln att besvara. Försök igen.",
	"err.noKeyRegistered":                 "Du har ingen säkerhetsnyckel eller nyckel för inloggning registrerad. Logga in på ett annat sätt.",
	"err.keyAlreadyRegistered":            "Den här säkerhetsnyckeln eller nyckeln för inloggning är redan registrerad.",
	"err.selfServiceRegistrationDisabled": "Din organisation låter dig inte lägga till säkerhetsnycklar eller nycklar för inloggning själv. Kontakta administratören.",
	"err.fido2Unavailable":                "Säkerhetsnycklar och nycklar för inloggning är inte tillgängliga på den här webbplatsen.",
	"err.registrationNotFound":            "Begäran har gått ut. Börja om.",
	"err.methodNotOffered":                "Det här kan inte läggas till här.",
}
