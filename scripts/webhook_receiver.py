"""A webhook receiver for Roster's tests: every delivery is verified with the `standardwebhooks`
library from PyPI (the Standard Webhooks reference implementation), not with code of Roster's.

Started by the integration tests on 127.0.0.1, port 0; prints `PORT <n>` once listening.
Control (JSON):
  POST /_control/secrets {"secrets": ["whsec_...", ...]}  secrets to verify against
  POST /_control/mode {"mode": "ok"|"500"|"429"|"503"|"410"|"302"|"hang", "retry_after": 1, "times": N}
       answer the next N deliveries (all, when N is null) so, then "ok"
  GET  /_control/log  every delivery: path, headers, body, and which secrets verified it
"""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

lock = threading.Lock()
state = {"secrets": [], "mode": "ok", "retry_after": None, "times": None, "log": []}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/_control/log":
            with lock:
                body = json.dumps(state["log"]).encode()
            return self.reply(200, body, [("content-type", "application/json")])
        self.reply(404)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        if self.path.startswith("/_control/"):
            req = json.loads(body or b"{}")
            with lock:
                if self.path == "/_control/secrets":
                    state["secrets"] = req["secrets"]
                elif self.path == "/_control/mode":
                    state["mode"] = req["mode"]
                    state["retry_after"] = req.get("retry_after")
                    state["times"] = req.get("times")
            return self.reply(204)
        headers = {k.lower(): v for k, v in self.headers.items()}
        with lock:
            secrets = list(state["secrets"])
            mode = state["mode"]
            retry_after = state["retry_after"]
            if state["times"] is not None:
                state["times"] -= 1
                if state["times"] <= 0:
                    state["mode"], state["times"] = "ok", None
        verified = []
        for i, secret in enumerate(secrets):
            # Each secret alone: during a rotation both must verify the same delivery.
            try:
                Webhook(secret).verify(body, headers)
                verified.append(i)
            except WebhookVerificationError:
                pass
        entry = {
            "path": self.path,
            "received_at": time.time(),
            "id": headers.get("webhook-id"),
            "timestamp": headers.get("webhook-timestamp"),
            "signature": headers.get("webhook-signature"),
            "body": body.decode("utf-8", "replace"),
            "verified_with": verified,
            "answered": mode,
        }
        with lock:
            state["log"].append(entry)
        if mode == "hang":
            time.sleep(30)
            return self.reply(200)
        if mode in ("429", "503"):
            return self.reply(int(mode), b"busy", [("retry-after", str(retry_after or 1))])
        if mode in ("500", "410"):
            return self.reply(int(mode), b"no")
        if mode == "302":
            return self.reply(302, b"", [("location", "/elsewhere")])
        self.reply(200 if verified else 400, b"ok" if verified else b"signature did not verify")


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print(f"PORT {server.server_address[1]}", flush=True)
server.serve_forever()
