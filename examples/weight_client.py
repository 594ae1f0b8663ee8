"""A connected scale, as small as it gets: the example client of Carnet santé's API.

It runs the OAuth 2.0 authorisation code flow with PKCE (S256) on the loopback address,
as a native app does, then sends one weight as a FHIR Observation and reads the weights
back. Standard library only.

    python examples/weight_client.py --server http://127.0.0.1:5000 --weight 71.4

1. It listens on http://127.0.0.1:8765/retour (the redirect URI of the catalogue entry
   "exemple-balance", examples/exemple-balance.toml) and prints the address to open.
2. You open it in a browser where you are signed in to Carnet santé (or sign in there),
   tick what you agree to share and press "Autoriser".
3. The browser comes back to the script with a code, which it exchanges (with the PKCE
   verifier) for an access token, then it posts the weight and lists your weights.

Nothing is kept on disk. The token dies after ten minutes; withdraw the access at any time
from "Services connectés".
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import secrets
import sys
import urllib.error
import urllib.parse
import urllib.request
from datetime import date
from http.server import BaseHTTPRequestHandler, HTTPServer

CLIENT_ID = "exemple-balance"
PORT = 8765
REDIRECT_URI = f"http://127.0.0.1:{PORT}/retour"
SCOPES = "patient/Observation.c patient/Observation.rs"
WEIGHT_LOINC = "29463-7"  # Body weight, as the FHIR vital-signs profile codes it


def pkce_pair() -> tuple[str, str]:
    """A code verifier and its S256 challenge (RFC 7636)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def wait_for_code(expected_state: str) -> str:
    """Serve the redirect URI until the browser brings a code back (or an error)."""
    found: dict[str, str] = {}

    class Back(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
            parts = urllib.parse.urlsplit(self.path)
            query = dict(urllib.parse.parse_qsl(parts.query))
            if parts.path != "/retour":
                self.send_error(404)
                return
            found.update(query)
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write("<!doctype html><html lang=\"fr\"><title>Balance d’exemple"
                             "</title><p>C’est fait : vous pouvez fermer cet onglet et "
                             "revenir au terminal.</p></html>".encode())

        def log_message(self, *_args) -> None:
            """Quiet: the URL carries the code."""

    with HTTPServer(("127.0.0.1", PORT), Back) as server:
        while not found:
            server.handle_request()
    if found.get("state") != expected_state:
        sys.exit("The state sent back is not ours: stopping (a forged redirect?).")
    if "error" in found:
        sys.exit(f"Access refused: {found['error']}")
    return found["code"]


def post_form(url: str, data: dict) -> dict:
    body = urllib.parse.urlencode(data).encode()
    request = urllib.request.Request(url, data=body, method="POST", headers={  # noqa: S310
        "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - https or loopback
        return json.load(response)


def fhir(url: str, token: str, body: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(  # noqa: S310 - the server is checked in main()
        url, method="POST" if body is not None else "GET",
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Accept": "application/fhir+json",
                 "Content-Type": "application/fhir+json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def weight_observation(kilograms: float, day: date) -> dict:
    return {"resourceType": "Observation", "status": "final",
            "category": [{"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                "code": "vital-signs"}]}],
            "code": {"coding": [{"system": "http://loinc.org", "code": WEIGHT_LOINC}]},
            "effectiveDateTime": day.isoformat(),
            "valueQuantity": {"value": kilograms, "unit": "kg",
                              "system": "http://unitsofmeasure.org", "code": "kg"}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="http://127.0.0.1:5000",
                        help="the Carnet santé site (its PUBLIC_URL)")
    parser.add_argument("--weight", type=float, default=71.4, help="kilograms to send")
    args = parser.parse_args()
    server = args.server.rstrip("/")
    if urllib.parse.urlsplit(server).scheme not in ("http", "https"):
        sys.exit("--server must be an http:// or https:// address.")
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(16)
    print("Open this address in your browser, signed in to Carnet santé:\n")
    print(server + "/oauth/autoriser?" + urllib.parse.urlencode({
        "response_type": "code", "client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI,
        "scope": SCOPES, "state": state, "code_challenge": challenge,
        "code_challenge_method": "S256", "aud": server + "/fhir"}))
    code = wait_for_code(state)
    token = post_form(server + "/oauth/jeton", {
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
        "client_id": CLIENT_ID, "code_verifier": verifier})
    print(f"\nConnected to the space {token['patient']} with: {token['scope']}")
    status, created = fhir(server + "/fhir/Observation", token["access_token"],
                           weight_observation(args.weight, date.today()))
    if status == 201:
        print(f"Weight sent: {args.weight} kg (Observation/{created['id']})")
    else:
        print(f"Weight refused ({status}): {created['issue'][0]['diagnostics']}")
    status, found = fhir(server + f"/fhir/Observation?code=http://loinc.org|{WEIGHT_LOINC}",
                         token["access_token"])
    if status == 200:
        for entry in found.get("entry", []):
            item = entry["resource"]
            print(f"  {item['effectiveDateTime'][:10]}  {item['valueQuantity']['value']} kg")
    else:
        print(f"Reading refused ({status}): {found['issue'][0]['diagnostics']}")


if __name__ == "__main__":
    main()
