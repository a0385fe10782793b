// Security keys and passkeys (SPEC §14): the one method that needs a script. Every other
// method works without it. A form with data-webauthn="create" (register) or "get" (sign
// in, confirm it's you) shows its button when the browser has WebAuthn; the button asks
// data-options for a challenge (posting the form's csrf and name), runs the browser's
// ceremony, puts the answer in the form's hidden fields and submits the form.
(function () {
  "use strict";

  function toBytes(base64url) {
    var base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) base64 += "=";
    var text = atob(base64);
    var bytes = new Uint8Array(text.length);
    for (var i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    return bytes.buffer;
  }

  function toBase64url(buffer) {
    if (!buffer) return null;
    var bytes = new Uint8Array(buffer);
    var text = "";
    for (var i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  // The server's options as the browser wants them: binary fields as ArrayBuffers.
  function decode(options) {
    options.challenge = toBytes(options.challenge);
    if (options.user) options.user.id = toBytes(options.user.id);
    ["excludeCredentials", "allowCredentials"].forEach(function (list) {
      (options[list] || []).forEach(function (c) { c.id = toBytes(c.id); });
    });
    return options;
  }

  // The browser's credential as JSON, binary fields base64url.
  function encode(credential) {
    var r = credential.response;
    var out = {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      extensions: credential.getClientExtensionResults ? credential.getClientExtensionResults() : {},
      response: { clientDataJSON: toBase64url(r.clientDataJSON) }
    };
    if (credential.authenticatorAttachment) out.authenticatorAttachment = credential.authenticatorAttachment;
    if (r.attestationObject) {
      out.response.attestationObject = toBase64url(r.attestationObject);
      if (r.getTransports) out.response.transports = r.getTransports();
    } else {
      out.response.authenticatorData = toBase64url(r.authenticatorData);
      out.response.signature = toBase64url(r.signature);
      out.response.userHandle = toBase64url(r.userHandle);
    }
    return out;
  }

  function setUp(form) {
    var button = form.querySelector("[data-webauthn-start]");
    var unsupported = form.querySelector("[data-webauthn-unsupported]");
    var error = form.querySelector("[data-webauthn-error]");
    if (!button || !window.PublicKeyCredential || !navigator.credentials) return;
    if (unsupported) unsupported.hidden = true;
    button.hidden = false;
    var kind = form.getAttribute("data-webauthn");

    function fail(message, detail) {
      button.disabled = false;
      if (error) {
        // What the browser said, for whoever helps the user (not shown).
        error.setAttribute("data-detail", detail || "");
        error.textContent = message || form.getAttribute("data-failed");
        error.hidden = false;
      }
    }

    button.addEventListener("click", function () {
      button.disabled = true;
      if (error) error.hidden = true;
      var body = new URLSearchParams();
      body.set("csrf", form.elements.csrf.value);
      if (form.elements.name) body.set("name", form.elements.name.value);
      fetch(form.getAttribute("data-options"), { method: "POST", body: body, credentials: "same-origin" })
        .then(function (response) {
          return response.json().then(function (json) { return { ok: response.ok, json: json }; });
        })
        .then(function (answer) {
          if (!answer.ok) {
            var code = answer.json.error && answer.json.error.code;
            if (code === "step_up_required") {
              window.location.assign("/settings/security/confirm");
              return null;
            }
            if (code === "flow_expired" || code === "session_invalid") {
              window.location.assign("/login");
              return null;
            }
            throw new Error(answer.json.error && answer.json.error.message);
          }
          var options = { publicKey: decode(answer.json.options) };
          var ceremony = kind === "create" ? navigator.credentials.create(options) : navigator.credentials.get(options);
          return ceremony.then(function (credential) {
            form.elements.challenge_id.value = answer.json.challenge_id;
            form.elements.credential.value = JSON.stringify(encode(credential));
            form.submit();
          });
        })
        .catch(function (e) {
          fail(e && e.message && e.name === "Error" ? e.message : null, e ? e.name + ": " + e.message : "");
        });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-webauthn]").forEach(setUp);
  });
})();
