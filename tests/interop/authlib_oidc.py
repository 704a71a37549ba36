"""Authlib, a generic OAuth 2.0 / OpenID Connect client library, unchanged, against uma-as.

Run by tests/authlib.rs, which starts the server (the client "web" with the redirect URI
http://web.example/cb, the user alice with password alice-password) and passes its issuer.
The authorization code flow with PKCE and a nonce, as a browser would go through the sign-in
page; the ID token checked by Authlib (signature against the JWKS, iss, aud, nonce, at_hash);
UserInfo; introspection with client_secret_basic. Exits non-zero on the first thing that does not
work as the specifications say.
"""

import re
import sys
import warnings

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session

warnings.simplefilter("ignore")  # authlib.jose announces its successor; it still works
from authlib.jose import JsonWebKey, jwt  # noqa: E402
from authlib.oidc.core import CodeIDToken  # noqa: E402

issuer = sys.argv[1]
provider = requests.get(f"{issuer}/.well-known/openid-configuration").json()
assert provider["issuer"] == issuer, provider

redirect_uri = "http://web.example/cb"
client = OAuth2Session(
    "web",
    "web-secret",
    scope="openid",
    redirect_uri=redirect_uri,
    code_challenge_method="S256",
)
verifier = generate_token(48)
nonce = generate_token(20)
url, state = client.create_authorization_url(
    provider["authorization_endpoint"], nonce=nonce, code_verifier=verifier
)

# The browser's part: the sign-in page, its form, the redirect back.
browser = requests.Session()
page = browser.get(url)
assert page.status_code == 200, page.status_code
action = re.search(r'<form method="post" action="([^"]+)"', page.text).group(1).replace("&amp;", "&")
csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
signed_in = browser.post(
    requests.compat.urljoin(url, action),
    data={"csrf": csrf, "username": "alice", "password": "alice-password"},
    allow_redirects=False,
)
assert signed_in.is_redirect, (signed_in.status_code, signed_in.text[:200])
callback = signed_in.headers["location"]
assert callback.startswith(redirect_uri), callback

token = client.fetch_token(
    provider["token_endpoint"], authorization_response=callback, code_verifier=verifier
)
assert token["token_type"].lower() == "bearer", token

# The ID token, as Authlib checks it.
keys = JsonWebKey.import_key_set(requests.get(provider["jwks_uri"]).json())
claims = jwt.decode(
    token["id_token"],
    keys,
    claims_cls=CodeIDToken,
    claims_options={"iss": {"essential": True, "value": issuer}},
    claims_params={"nonce": nonce, "client_id": "web", "access_token": token["access_token"]},
)
claims.validate()
assert claims["sub"] == "alice", claims
assert claims["at_hash"], claims

# UserInfo with the access token.
userinfo = client.get(provider["userinfo_endpoint"]).json()
assert userinfo["sub"] == "alice", userinfo

# Introspection, the client authenticating as itself (client_secret_basic).
introspected = client.introspect_token(
    provider["introspection_endpoint"], token=token["access_token"]
).json()
assert introspected["active"] is True and introspected["sub"] == "alice", introspected
assert (
    client.introspect_token(provider["introspection_endpoint"], token="nothing").json()["active"]
    is False
)

print("authlib: every call worked")
