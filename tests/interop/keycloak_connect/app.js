// An Express app protected by keycloak-connect exactly as its documentation shows, pointed at
// uma-as in Keycloak's realm mode. Driven by tests/keycloak_connect.rs, which starts the
// authorization server, runs this file with node and asks its routes as bob and carol.
//
// Arguments: AUTH_SERVER_URL REALM CLIENT_ID CLIENT_SECRET. Prints "listening PORT" once it
// serves on 127.0.0.1 (an ephemeral port), then serves until its stdin closes.
'use strict'

const express = require('express')
const Keycloak = require('keycloak-connect')

const [authServerUrl, realm, clientId, secret] = process.argv.slice(2)

const keycloak = new Keycloak({}, {
  realm,
  'auth-server-url': authServerUrl,
  resource: clientId,
  credentials: { secret },
  'bearer-only': true
})

const app = express()
app.use(keycloak.middleware())

const album = (req, res) => res.json({ album: 'Alice\'s album', permissions: req.permissions || null })

// The enforcer's default: the ticketless grant with response_mode=permissions, asked for the
// user of the request's bearer token (subject_token).
app.get('/album', keycloak.enforcer('album:view'), album)
app.put('/album', keycloak.enforcer('album:edit'), album)
// The user's token checked offline first (RS256 against the realm's certs), then an RPT asked
// and checked offline too (response_mode token: its authorization.permissions).
app.get('/album/by-token', keycloak.protect(), keycloak.enforcer('album:view', { response_mode: 'token' }), album)
// Roles in the user's token, checked offline: a realm role, and a role at this client.
app.get('/admin', keycloak.protect('realm:admin'), (req, res) => res.json({ admin: true }))
app.get('/manage', keycloak.protect('album-manager'), (req, res) => res.json({ manager: true }))
// Only the user's token, checked offline.
app.get('/me', keycloak.protect(), (req, res) => {
  const token = req.kauth.grant.access_token.content
  res.json({ sub: token.sub, preferred_username: token.preferred_username })
})

const server = app.listen(0, '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`)
})
process.stdin.on('end', () => process.exit(0))
process.stdin.resume()
