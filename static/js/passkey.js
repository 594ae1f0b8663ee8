/* Passkeys (WebAuthn): loaded only on the pages that use them (sign-in, adding a passkey).
   The page works without this script: the buttons stay hidden and the password path is
   the only one. Messages go to the page's status region, for screen readers. */
(function () {
  "use strict";
  if (!window.PublicKeyCredential || !navigator.credentials) { return; }

  function toBytes(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) { base64 += "="; }
    var raw = atob(base64), bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i += 1) { bytes[i] = raw.charCodeAt(i); }
    return bytes.buffer;
  }

  function toText(buffer) {
    var bytes = new Uint8Array(buffer), raw = "";
    for (var i = 0; i < bytes.length; i += 1) { raw += String.fromCharCode(bytes[i]); }
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function token() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    var field = document.querySelector('input[name="csrf_token"]');
    return meta ? meta.content : (field ? field.value : "");
  }

  function send(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin", body: body,
      headers: {"Content-Type": "application/json", "X-CSRFToken": token()}
    }).then(function (response) { return response.json(); });
  }

  function say(box, text) {
    var status = box.querySelector("[data-passkey-status]");
    if (status) { status.textContent = text; }
  }

  function follow(box, answer) {
    if (answer.redirect) { window.location.assign(answer.redirect); return; }
    say(box, answer.error || "");
  }

  function credentialJSON(credential, fields) {
    var response = {};
    fields.forEach(function (name) {
      var value = credential.response[name];
      response[name] = value ? toText(value) : null;
    });
    if (credential.response.getTransports) {
      response.transports = credential.response.getTransports();
    }
    return JSON.stringify({id: credential.id, rawId: toText(credential.rawId),
                           type: credential.type, response: response,
                           clientExtensionResults: credential.getClientExtensionResults()});
  }

  var signIn = document.querySelector("[data-passkey-sign-in]");
  if (signIn) {
    var signInBox = signIn.closest("[data-passkey-sign-in-box]");
    signInBox.hidden = false;
    signIn.addEventListener("click", function () {
      say(signInBox, "");
      var asked = signIn.dataset.suivant ? {suivant: signIn.dataset.suivant} : {};
      send(signIn.dataset.optionsUrl, JSON.stringify(asked)).then(function (answer) {
        var options = answer.options;
        options.challenge = toBytes(options.challenge);
        (options.allowCredentials || []).forEach(function (item) { item.id = toBytes(item.id); });
        return navigator.credentials.get({publicKey: options});
      }).then(function (credential) {
        return send(signIn.dataset.url, credentialJSON(
          credential, ["clientDataJSON", "authenticatorData", "signature", "userHandle"]));
      }).then(function (answer) { follow(signInBox, answer); }).catch(function () {
        say(signInBox, signIn.dataset.failed || "");
      });
    });
  }

  var register = document.querySelector("[data-passkey-register]");
  if (register) {
    var registerBox = register.closest("main");
    register.hidden = false;
    register.addEventListener("click", function () {
      var options = JSON.parse(register.dataset.options);
      options.challenge = toBytes(options.challenge);
      options.user.id = toBytes(options.user.id);
      (options.excludeCredentials || []).forEach(function (item) { item.id = toBytes(item.id); });
      navigator.credentials.create({publicKey: options}).then(function (credential) {
        return send(register.dataset.url, credentialJSON(
          credential, ["clientDataJSON", "attestationObject"]));
      }).then(function (answer) { follow(registerBox, answer); }).catch(function () {
        say(registerBox, register.dataset.failed || "");
      });
    });
  }
}());
