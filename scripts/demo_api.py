"""The demo scripts' one way to call Doppel's API: JSON in, (status, JSON) out, with the bearer
token from DOPPEL_TOKEN when demo.sh set one (a data directory with API keys)."""
import json
import os
import urllib.error
import urllib.request


def call(url, method, path, body=None, timeout=30):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if os.environ.get("DOPPEL_TOKEN"):
        req.add_header("Authorization", "Bearer " + os.environ["DOPPEL_TOKEN"])
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)
