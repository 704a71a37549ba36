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

# The list's filters and pages, and a permission ticket for a resource named, not identified.
album = uma.resource_set_list_ids(name="album", exact_name=True, first=0, maximum=1)
assert len(album) == 1, album
album = album[0]
assert uma.resource_set_list_ids(name="ALB") == [album]
assert uma.resource_set_list_ids(name="alb", exact_name=True) == []
assert uma.resource_set_list_ids(owner="alice", scope="edit") == [album]
from keycloak.uma_permissions import UMAPermission

ticket = uma.permission_ticket_create([UMAPermission(resource="album", scope="view")])
assert ticket["ticket"], ticket

# KeycloakUMA as alice: the resource server manages her policies with her own token.
alice_uma = KeycloakUMA(
    connection=KeycloakOpenIDConnection(
        server_url=server_url,
        realm_name=realm,
        client_id="photoz",
        client_secret_key="photoz-secret",
        username="alice",
        password="alice-password",
    )
)
carol_token = carol["access_token"]
policy = alice_uma.policy_resource_create(
    album, {"name": "Carol may view", "description": "for now", "scopes": ["view"], "users": ["carol"]}
)
assert policy["type"] == "uma" and policy["owner"] == "alice", policy
assert openid.has_uma_access(carol_token, "album#view").is_authorized
assert [p["id"] for p in alice_uma.policy_query(resource=album, name="carol")] == [policy["id"]]
assert alice_uma.policy_query(scope="edit", name="carol") == []
alice_uma.policy_update(policy["id"], {"name": "Carol may edit", "scopes": ["edit"], "users": ["carol"]})
assert openid.has_uma_access(carol_token, "album#edit").is_authorized
assert not openid.has_uma_access(carol_token, "album#view").is_authorized
alice_uma.policy_delete(policy["id"])
assert not openid.has_uma_access(carol_token, "album#edit").is_authorized
assert alice_uma.policy_query(name="carol") == []

# Logout ends the refresh token: it refreshes no more.
openid.logout(carol["refresh_token"])
try:
    openid.refresh_token(carol["refresh_token"])
except KeycloakError as error:
    assert error.response_code == 400, error.response_code
else:
    raise AssertionError("a logged-out refresh token refreshed")

print("python-keycloak: every call worked")
