"""A relying party that nobody here wrote: Python authlib discovers a Roster issuer, runs the
authorization code flow with PKCE by posting the hosted sign-in form as a browser would,
verifies the ID token against the JWKS (iss, aud, nonce, exp, signature), calls userinfo,
refreshes, and calls an Amigo, an eva and an org-user-management route with the access token.
It also checks what must fail: a tampered ID token, a wrong PKCE verifier, a forged state.

Settings come from the environment (RP_*); prints one JSON object; exits non-zero on any
failure. Run by crates/server/tests/api/oidc_rp.rs against a live server.
"""

import html
import json
import os
import re
import sys
from urllib.parse import urljoin

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session, OAuthError
from authlib.jose import JsonWebKey, JsonWebToken
from authlib.jose.errors import BadSignatureError
from authlib.oauth2.rfc6749.errors import MismatchingStateException
from authlib.oidc.core import CodeIDToken

env = os.environ
issuer, client_id, secret = env["RP_ISSUER"], env["RP_CLIENT_ID"], env["RP_CLIENT_SECRET"]
redirect_uri, org_uuid = env["RP_REDIRECT_URI"], env["RP_ORG_UUID"]
base = issuer.split("/realms/")[0]
org = issuer.rsplit("/", 1)[1]

meta = requests.get(issuer + "/.well-known/openid-configuration", timeout=30).json()
assert meta["issuer"] == issuer, meta
jwks = JsonWebKey.import_key_set(requests.get(meta["jwks_uri"], timeout=30).json())
jwt = JsonWebToken(meta["id_token_signing_alg_values_supported"])


def session():
    return OAuth2Session(
        client_id,
        secret,
        scope="openid profile email",
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
    )


def sign_in(client):
    """Starts the flow and posts the hosted form; returns the callback URL, verifier, nonce, state."""
    verifier, nonce = generate_token(48), generate_token(20)
    url, state = client.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce
    )
    browser = requests.Session()
    page = browser.get(url, allow_redirects=False, timeout=30)
    assert page.status_code == 200, (page.status_code, page.text)
    forms = re.findall(r'<form method="post" action="([^"]+)"', page.text)
    assert len(forms) == 1, page.text
    fields = {
        name: html.unescape(value)
        for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text)
    }
    assert re.search(r'<input[^>]*name="username"', page.text) and re.search(
        r'<input[^>]*name="password"', page.text
    ), page.text
    fields["username"], fields["password"] = env["RP_USERNAME"], env["RP_PASSWORD"]
    done = browser.post(urljoin(issuer, html.unescape(forms[0])), data=fields, allow_redirects=False, timeout=30)
    assert done.status_code in (302, 303), (done.status_code, done.text)
    callback = done.headers["Location"]
    assert callback.startswith(redirect_uri + "?"), callback
    return callback, verifier, nonce, state


def verify_id_token(token, nonce=None):
    params = {"client_id": client_id}
    if nonce is not None:
        params["nonce"] = nonce
    claims = jwt.decode(
        token,
        jwks,
        claims_cls=CodeIDToken,
        claims_options={"iss": {"essential": True, "value": issuer}},
        claims_params=params,
    )
    claims.validate(leeway=5)
    return claims


out = {}

# The flow, as the library runs it.
client = session()
callback, verifier, nonce, state = sign_in(client)
token = client.fetch_token(
    meta["token_endpoint"], authorization_response=callback, code_verifier=verifier, state=state
)
claims = verify_id_token(token["id_token"], nonce)
assert claims["aud"] == client_id and claims["nonce"] == nonce, claims
out["sub"], out["email"], out["org"] = claims["sub"], claims.get("email"), claims.get("org")

# A tampered ID token does not verify.
head, body, sig = token["id_token"].split(".")
forged = ".".join([head, body, ("A" if sig[0] != "A" else "B") + sig[1:]])
try:
    verify_id_token(forged, nonce)
    raise AssertionError("a tampered ID token verified")
except BadSignatureError:
    out["tampered_id_token"] = "refused"

info = client.get(meta["userinfo_endpoint"], timeout=30).json()
assert info["sub"] == claims["sub"], info
out["userinfo_email"] = info.get("email")

access = token["access_token"]
auth = {"Authorization": f"Bearer {access}"}
out["amigo"] = requests.get(f"{base}/v1/{org}/user/", headers=auth, timeout=30).status_code
out["eva"] = requests.get(f"{base}/org/{org_uuid}/users", headers=auth, timeout=30).status_code
out["oum"] = requests.get(f"{base}/users/me", headers=auth, timeout=30).status_code

refreshed = client.refresh_token(meta["token_endpoint"], refresh_token=token["refresh_token"])
assert refreshed["access_token"] != access and refreshed["refresh_token"] != token["refresh_token"]
verify_id_token(refreshed["id_token"])
out["refreshed_amigo"] = requests.get(
    f"{base}/v1/{org}/user/", headers={"Authorization": f"Bearer {refreshed['access_token']}"}, timeout=30
).status_code

# A wrong PKCE verifier: the provider refuses the code.
client = session()
callback, _, _, state = sign_in(client)
try:
    client.fetch_token(
        meta["token_endpoint"], authorization_response=callback, code_verifier=generate_token(48), state=state
    )
    raise AssertionError("a wrong verifier was accepted")
except OAuthError as e:
    out["wrong_verifier"] = e.error

# A forged state: the library refuses the callback.
client = session()
callback, verifier, _, state = sign_in(client)
try:
    client.fetch_token(
        meta["token_endpoint"],
        authorization_response=callback.replace(f"state={state}", "state=forged"),
        code_verifier=verifier,
        state=state,
    )
    raise AssertionError("a forged state was accepted")
except MismatchingStateException:
    out["forged_state"] = "refused"

print(json.dumps(out))
sys.exit(0)
