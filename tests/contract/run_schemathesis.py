"""Issue 18: schemathesis (from PyPI, pinned in tools/setup.sh) against a
started tallyd, from tools/tallyd/openapi.json.

    run_schemathesis.py TALLYD OPENAPI_JSON SCHEMATHESIS_BIN

Starts tallyd on a fresh data folder, creates one customer with an order
(so that generated requests also reach real resources: their ids become
the path parameters' examples), then runs schemathesis with a fixed seed
and a bounded number of examples per operation. Checks: no 5xx, every
status and content type as documented, every body valid against its
schema (every 4xx body is the error {code, description, data, source}),
and no refused request moves the log head (schemathesis_hooks.py).
Exits non-zero on any failure; prints schemathesis' summary.
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.request

TALLYD, OPENAPI, SCHEMATHESIS = sys.argv[1:4]
EXAMPLES = os.environ.get("TALLY_SCHEMATHESIS_EXAMPLES", "25")
CHECKS = ",".join(["not_a_server_error", "status_code_conformance", "content_type_conformance",
                   "response_schema_conformance", "rejected_request_changes_nothing"])


def start_tallyd(data):
    proc = subprocess.Popen([TALLYD, "--data", data, "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    seen = ""
    while "running;" not in seen:
        line = proc.stdout.readline()
        if not line:
            sys.exit("tallyd did not start:\n" + seen)
        seen += line
    port = int(re.search(r"HTTP API on http://127\.0\.0\.1:(\d+)", seen).group(1))
    token = re.search(r"TALLY_TOKEN=(\S+)", seen).group(1)
    return proc, port, token


def call(base, token, method, path, body=None):
    req = urllib.request.Request(base + path, method=method, data=None if body is None else json.dumps(body).encode(),
                                 headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        proc, port, token = start_tallyd(os.path.join(tmp, "var"))
        try:
            base = f"http://127.0.0.1:{port}"
            offers = call(base, token, "GET", "/v1/offers")["items"]
            basic = next(o["id"] for o in offers if not o["isAddOn"])
            customer = call(base, token, "POST", "/v1/customers", {
                "companyProfile": {"domain": "contract.onmicrosoft.com"},
                "billingProfile": {"email": "a@contract.example", "culture": "en-US", "language": "en",
                                   "companyName": "Contract Ltd",
                                   "defaultAddress": {"firstName": "Ada", "lastName": "L", "addressLine1": "1 Main St",
                                                      "city": "Redmond", "state": "WA", "postalCode": "98052",
                                                      "country": "US"}},
                "agreement": {"primaryContact": {"firstName": "Ada", "lastName": "L", "email": "a@contract.example"},
                              "dateAgreed": "2026-01-02", "type": "MicrosoftCustomerAgreement",
                              "templateId": call(base, token, "GET", "/v1/agreements?agreementType=*")["items"][0]["templateId"]},
                "lineItems": [{"offerId": basic, "quantity": 5}]})
            values = {"customerId": customer["id"], "orderId": customer["orders"][0]["id"],
                      "subscriptionId": customer["orders"][0]["lineItems"][0]["subscriptionId"], "offerId": basic,
                      "domain": "contract.onmicrosoft.com", "invitationId": "00000000-0000-0000-0000-000000000000"}
            with open(OPENAPI) as f:
                doc = json.load(f)
            operations = 0
            for path, item in doc["paths"].items():
                for method, op in item.items():
                    operations += 1
                    for p in op.get("parameters", []):
                        if p["in"] == "path" and p["name"] in values:
                            p["examples"] = {"real": {"value": values[p["name"]]}}
            schema = os.path.join(tmp, "openapi.json")
            with open(schema, "w") as f:
                json.dump(doc, f)
            env = dict(os.environ, TALLY_BASE_URL=base,
                       SCHEMATHESIS_HOOKS="schemathesis_hooks",
                       PYTHONPATH=os.path.dirname(os.path.abspath(__file__)))
            cmd = [SCHEMATHESIS, "run", schema, "--url", base, "-H", "Authorization: Bearer " + token,
                   "--checks", CHECKS, "--max-examples", EXAMPLES, "--seed", "18", "--workers", "1",
                   "--phases", "examples,coverage,fuzzing", "--no-color", "--request-timeout", "10",
                   "--exclude-path-regex", "^/admin/",
                   "--generation-database", "none"]
            print("operations in the document:", operations, "(the operator-only /admin ones are left out)", flush=True)
            result = subprocess.run(cmd, env=env, cwd=tmp)
            if proc.poll() is not None:
                sys.exit("tallyd exited during the run with status %d" % proc.returncode)
            return result.returncode
        finally:
            proc.kill()
            proc.wait()


if __name__ == "__main__":
    sys.exit(main())
