// vakt: security keys and passkeys on the sign-in and security-info pages.
//
// Small and dependency-free on purpose: vakt serves it itself under a
// Content-Security-Policy of script-src 'self' (nothing inline). The pages
// stay server-rendered forms; this script only does what a form cannot:
// it runs navigator.credentials.create/get with the options the server put
// on the form (data-options), writes the answer into the form's hidden
// "credential" field and submits the form. (PublicKeyCredential.parse*FromJSON
// would do the conversion, but not every supported browser has it.)
//
// Markup it acts on:
//   form[data-webauthn="get"|"create"][data-options]  a ceremony form
//   [data-webauthn-start]    its button (hidden until the script runs)
//   [data-webauthn-reveal]   anything shown only where WebAuthn works
//   [data-webauthn-error=cancelled|already|unsupported|failed]  messages
//   [data-webauthn-nojs]     hidden once the script runs
(function () {
  "use strict";

  function toBuffer(s) {
    s = String(s).replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }

  function toBase64url(buf) {
    var bytes = new Uint8Array(buf), s = "";
    for (var i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function withIds(list) {
    return (list || []).map(function (c) {
      return Object.assign({}, c, { id: toBuffer(c.id) });
    });
  }

  // creationOptions and requestOptions turn the server's JSON options
  // into what navigator.credentials expects.
  function creationOptions(o) {
    var p = Object.assign({}, o);
    p.challenge = toBuffer(o.challenge);
    p.user = Object.assign({}, o.user, { id: toBuffer(o.user.id) });
    p.excludeCredentials = withIds(o.excludeCredentials);
    return p;
  }

  function requestOptions(o) {
    var p = Object.assign({}, o);
    p.challenge = toBuffer(o.challenge);
    p.allowCredentials = withIds(o.allowCredentials);
    return p;
  }

  // credentialJSON is the registration or authentication response in the
  // JSON shape of WebAuthn Level 3 (RegistrationResponseJSON /
  // AuthenticationResponseJSON). Extension results are not sent: vakt
  // asks for none.
  function credentialJSON(c) {
    var r = c.response;
    var out = { id: c.id, rawId: toBase64url(c.rawId), type: c.type, clientExtensionResults: {},
      response: { clientDataJSON: toBase64url(r.clientDataJSON) } };
    if (c.authenticatorAttachment) out.authenticatorAttachment = c.authenticatorAttachment;
    if (r.attestationObject) {
      out.response.attestationObject = toBase64url(r.attestationObject);
      if (typeof r.getTransports === "function") out.response.transports = r.getTransports();
    } else {
      out.response.authenticatorData = toBase64url(r.authenticatorData);
      out.response.signature = toBase64url(r.signature);
      if (r.userHandle) out.response.userHandle = toBase64url(r.userHandle);
    }
    return out;
  }

  // create and get run one ceremony with the server's JSON options and
  // return the answer as JSON.
  async function create(options) {
    return credentialJSON(await navigator.credentials.create({ publicKey: creationOptions(options) }));
  }

  async function get(options) {
    return credentialJSON(await navigator.credentials.get({ publicKey: requestOptions(options) }));
  }

  // problem names the message to show for a failed ceremony. Browsers
  // report a cancelled prompt, a timeout and a key that is not registered
  // all as NotAllowedError, on purpose (they must not reveal which keys
  // exist), so those share one message.
  function problem(err) {
    switch (err && err.name) {
      case "NotAllowedError":
      case "AbortError":
        return "cancelled";
      case "InvalidStateError":
        return "already";
      case "NotSupportedError":
      case "SecurityError":
        return "unsupported";
    }
    return "failed";
  }

  var supported = typeof window.PublicKeyCredential === "function" && !!navigator.credentials;

  function each(selector, fn) {
    Array.prototype.forEach.call(document.querySelectorAll(selector), fn);
  }

  function showError(form, kind) {
    var shown = null;
    each("[data-webauthn-error]", function (el) {
      var on = el.getAttribute("data-webauthn-error") === kind && (!form || form.contains(el) || !el.closest("form"));
      el.hidden = !on;
      if (on && !shown) shown = el;
    });
    if (shown) {
      shown.setAttribute("tabindex", "-1");
      shown.focus();
    }
  }

  function bind(form) {
    var button = form.querySelector("[data-webauthn-start]");
    if (!button) return;
    if (!supported) {
      showError(form, "unsupported");
      return;
    }
    button.hidden = false;
    button.addEventListener("click", async function (ev) {
      ev.preventDefault();
      if (button.disabled) return;
      showError(form, "");
      button.disabled = true;
      button.setAttribute("aria-busy", "true");
      try {
        var options = JSON.parse(form.getAttribute("data-options"));
        var answer = form.getAttribute("data-webauthn") === "create" ? await create(options) : await get(options);
        form.elements.credential.value = JSON.stringify(answer);
        form.submit();
      } catch (err) {
        button.disabled = false;
        button.removeAttribute("aria-busy");
        showError(form, problem(err));
      }
    });
  }

  each("[data-webauthn-nojs]", function (el) { el.hidden = true; });
  if (supported) each("[data-webauthn-reveal]", function (el) { el.hidden = false; });
  each("form[data-webauthn]", bind);

  window.vaktWebAuthn = { create: create, get: get, supported: supported, toBuffer: toBuffer, toBase64url: toBase64url };
})();
