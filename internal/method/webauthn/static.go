package webauthn

import _ "embed"

// Script is the browser side of the ceremonies (static/webauthn.js): no
// dependencies, served by vakt under script-src 'self'.
//
//go:embed static/webauthn.js
var Script []byte
