// vakt: security keys and passkeys in the browser.
//
// Small and dependency-free on purpose: it is served by vakt itself under
// a Content-Security-Policy of script-src 'self', and it does only what
// the JSON endpoints need — base64url <-> ArrayBuffer, and
// navigator.credentials.create/get. (PublicKeyCredential.parse*FromJSON
// would do the conversion, but not every supported browser has it.)
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

  var tenant = document.body.getAttribute("data-tenant") || "";
  var base = "/" + encodeURIComponent(tenant) + "/api";

  async function api(path, body) {
    var res = await fetch(base + path, { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(body || {}) });
    var data = null;
    if (res.status !== 204) {
      try { data = await res.json(); } catch (e) { data = null; }
    }
    if (!res.ok) {
      var err = new Error(data && data.error ? data.error.message : "The server answered " + res.status + ".");
      err.code = data && data.error ? data.error.code : String(res.status);
      throw err;
    }
    return data;
  }

  // register adds a passkey (discoverable) or a security key for the
  // signed-in user.
  async function register(passkey, displayName) {
    var en = await api("/securityinfo/fido2/begin", { passkey: !!passkey });
    var cred = await navigator.credentials.create({ publicKey: creationOptions(en.options) });
    return api("/securityinfo/fido2/finish", { registrationId: en.registrationId, displayName: displayName || "",
      credential: credentialJSON(cred) });
  }

  // answer passes a flow's security key step (second factor) and follows
  // the flow to its next state.
  async function answer(v) {
    var flow = "/signin/" + encodeURIComponent(v.flowId);
    if (v.state === "mfa") {
      if (v.mfa.options.indexOf("fido2") < 0) {
        var e = new Error("A security key cannot be used for this sign-in.");
        e.code = "noKeyOffered";
        throw e;
      }
      if (v.mfa.selected !== "fido2" || !v.publicKey) v = await api(flow + "/select", { option: "fido2" });
      var cred = await navigator.credentials.get({ publicKey: requestOptions(v.publicKey) });
      return answer(await api(flow + "/verify", { credential: credentialJSON(cred) }));
    }
    return v;
  }

  async function signInWithPassword(username, password) {
    var v = await api("/signin", { username: username });
    v = await api("/signin/" + encodeURIComponent(v.flowId) + "/password", { password: password });
    return answer(v);
  }

  // signInWithPasskey signs in without a user name.
  async function signInWithPasskey() {
    var v = await api("/signin/passkey");
    var cred = await navigator.credentials.get({ publicKey: requestOptions(v.publicKey) });
    return answer(await api("/signin/" + encodeURIComponent(v.flowId) + "/passkey", { credential: credentialJSON(cred) }));
  }

  function signOut() { return api("/signout"); }

  // The minimal pages: each button reports into #status, whose
  // data-result ("ok:<state>" or "error:<code>") tests and people read.
  function report(promise) {
    var status = document.getElementById("status");
    status.removeAttribute("data-result");
    status.textContent = "Waiting for your security key…";
    promise.then(function (v) {
      var state = v && v.state ? v.state : "registered";
      status.textContent = state === "blocked" && v.blocked ? v.blocked.message : "Done: " + state + ".";
      status.setAttribute("data-result", "ok:" + state);
    }, function (err) {
      status.textContent = err.message || String(err);
      status.setAttribute("data-result", "error:" + (err.code || err.name || "error"));
    });
  }

  function on(id, fn) {
    var el = document.getElementById(id);
    if (el) el.addEventListener("click", function (ev) { ev.preventDefault(); fn(); });
  }

  function value(id) { var el = document.getElementById(id); return el ? el.value : ""; }

  on("add-passkey", function () { report(register(true, value("name"))); });
  on("add-key", function () { report(register(false, value("name"))); });
  on("signin", function () { report(signInWithPassword(value("username"), value("password"))); });
  on("passkey", function () { report(signInWithPasskey()); });
  on("signout", function () { report(signOut().then(function () { return { state: "signedOut" }; })); });

  window.vaktWebAuthn = { register: register, signInWithPassword: signInWithPassword,
    signInWithPasskey: signInWithPasskey, signOut: signOut, toBuffer: toBuffer, toBase64url: toBase64url };
})();
