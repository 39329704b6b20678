// Passkeys on gatehouse's pages: "Sign in with a passkey" and autofill
// (conditional mediation) on the login page, "Add a passkey" on the offer
// after a sign-in. The server's options and the browser's answers travel
// as WebAuthn's JSON (parse*OptionsFromJSON, toJSON); without them the
// buttons stay hidden and the page works as before. No inline script: the
// page's data is in data- attributes.
(function () {
  "use strict";
  var api = window.PublicKeyCredential;
  if (!api || !api.parseRequestOptionsFromJSON || !api.parseCreationOptionsFromJSON) {
    return;
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      credentials: "same-origin",
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().then(function (answer) {
        if (!response.ok) {
          throw new Error(answer.error_description || "The passkey was not accepted.");
        }
        return answer;
      });
    });
  }

  function show(element, text) {
    if (element) {
      element.textContent = text;
      element.hidden = false;
    }
  }

  function failed(element) {
    return function (error) {
      // The person closed the prompt, or autofill gave way to the button.
      if (error && (error.name === "AbortError" || error.name === "NotAllowedError")) {
        return;
      }
      show(element, (error && error.message) || "The passkey did not work. Try again.");
    };
  }

  function withFields(base, fields) {
    var body = {};
    Object.keys(base).forEach(function (key) { body[key] = base[key]; });
    Object.keys(fields).forEach(function (key) { body[key] = fields[key]; });
    return body;
  }

  var signIn = document.getElementById("passkey-sign-in");
  if (signIn) {
    var signInError = document.getElementById("passkey-error");
    var base = { login_challenge: signIn.dataset.challenge, csrf: signIn.dataset.csrf };
    var autofill = null;
    var run = function (mediation) {
      return post("/login/passkey/start", base).then(function (ceremony) {
        var options = {
          publicKey: api.parseRequestOptionsFromJSON(ceremony.options.publicKey)
        };
        if (mediation) {
          autofill = new AbortController();
          options.mediation = mediation;
          options.signal = autofill.signal;
        }
        return navigator.credentials.get(options).then(function (credential) {
          var fields = { id: ceremony.id, credential: credential.toJSON() };
          return post("/login/passkey/finish", withFields(base, fields));
        });
      }).then(function (done) {
        window.location.assign(done.redirect_to);
      });
    };
    signIn.hidden = false;
    signIn.addEventListener("click", function (event) {
      event.preventDefault();
      if (autofill) {
        autofill.abort();
        autofill = null;
      }
      run(null).catch(failed(signInError));
    });
    if (api.isConditionalMediationAvailable) {
      api.isConditionalMediationAvailable().then(function (available) {
        if (available) {
          run("conditional").catch(failed(signInError));
        }
      });
    }
  }

  var register = document.getElementById("passkey-register");
  if (register) {
    var registerError = document.getElementById("passkey-error");
    var csrf = { csrf: register.dataset.csrf };
    register.hidden = false;
    register.addEventListener("click", function (event) {
      event.preventDefault();
      post("/enrol/passkey/start", csrf).then(function (ceremony) {
        var options = { publicKey: api.parseCreationOptionsFromJSON(ceremony.options.publicKey) };
        return navigator.credentials.create(options).then(function (credential) {
          var fields = { id: ceremony.id, credential: credential.toJSON() };
          return post("/enrol/passkey/finish", withFields(csrf, fields));
        });
      }).then(function (done) {
        window.location.assign(done.redirect_to);
      }).catch(failed(registerError));
    });
  }
})();
