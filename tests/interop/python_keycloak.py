"""python-keycloak, unchanged, against uma-as in Keycloak's realm mode.

Run by tests/python_keycloak.rs, which starts the server (users alice and bob, the resource
server photoz, alice's resource "album" shared with bob for view) and passes its base URL and
realm. Exits non-zero on the first thing that does not work as against Keycloak.
"""

import sys

from keycloak import KeycloakOpenID
from keycloak.exceptions import KeycloakError

server_url, realm = sys.argv[1], sys.argv[2]
openid = KeycloakOpenID(
    server_url=server_url,
    realm_name=realm,
    client_id="photoz",
    client_secret_key="photoz-secret",
)

# Discovery and keys.
well_known = openid.well_known()
assert well_known["issuer"] == f"{server_url}realms/{realm}", well_known
assert well_known["token_endpoint"].endswith("/protocol/openid-connect/token"), well_known
assert openid.certs()["keys"], "no keys"

# Tokens: password grant, refresh, introspection with the client's own credentials.
bob = openid.token("bob", "bob-password")
assert bob["access_token"] and bob["refresh_token"], bob
refreshed = openid.refresh_token(bob["refresh_token"])
assert refreshed["access_token"] != bob["access_token"], refreshed
introspected = openid.introspect(refreshed["access_token"])
assert introspected["active"] is True, introspected
assert openid.introspect("not-a-token")["active"] is False

# UMA: bob's permissions on album, by name, as Keycloak's ticketless grant.
granted = openid.uma_permissions(refreshed["access_token"], "album#view")
assert len(granted) == 1, granted
assert granted[0]["rsname"] == "album" and granted[0]["scopes"] == ["view"], granted
status = openid.has_uma_access(refreshed["access_token"], "album#view")
assert status.is_logged_in and status.is_authorized, status
status = openid.has_uma_access(refreshed["access_token"], "album#edit")
assert status.is_logged_in and not status.is_authorized, status

# Carol has no share: not authorized.
carol = openid.token("carol", "carol-password")
status = openid.has_uma_access(carol["access_token"], "album#view")
assert status.is_logged_in and not status.is_authorized, status

# A wrong password is an error, as with Keycloak.
try:
    openid.token("bob", "wrong")
except KeycloakError as error:
    assert error.response_code in (400, 401), error.response_code
else:
    raise AssertionError("a wrong password gave a token")

# KeycloakUMA: the resource server's protection API, by the uma2 discovery document.
from keycloak import KeycloakOpenIDConnection, KeycloakUMA

uma = KeycloakUMA(
    connection=KeycloakOpenIDConnection(
        server_url=server_url,
        realm_name=realm,
        client_id="photoz",
        client_secret_key="photoz-secret",
    )
)
created = uma.resource_set_create(
    {"name": "diary", "resource_scopes": ["view", "edit"], "owner": "alice"}
)
diary = created["_id"]
assert uma.resource_set_read(diary)["name"] == "diary"
uma.resource_set_update(diary, {"name": "journal", "resource_scopes": ["view"]})
assert uma.resource_set_read(diary)["name"] == "journal"
assert diary in uma.resource_set_list_ids(), "not listed"
uma.resource_set_delete(diary)
assert diary not in uma.resource_set_list_ids(), "still listed"

print("python-keycloak: every call worked")
