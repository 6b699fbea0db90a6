#!/usr/bin/env python3
"""A Standard Webhooks receiver for Hookline, in Python 3 with nothing but the standard library.

    PORT=4000 WEBHOOK_SECRET=whsec_... python3 receiver.py

Prints one line per verified event and answers 200; answers 400 when a webhook header is missing or
malformed, and 401 when no signature matches or the timestamp is more than 5 minutes away from now.
"""

import base64
import binascii
import hashlib
import hmac
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECRET_PREFIX = "whsec_"
TOLERANCE_SECONDS = 5 * 60
MAX_BODY_BYTES = 1024 * 1024


class BadRequestError(Exception):
    """The request is not a webhook: a header is missing or malformed (400)."""


class VerificationError(Exception):
    """The request is not signed with our secret, or is too old or too new (401)."""


def decode_secret(secret):
    """The signing key: the base64-decoded part of the secret after `whsec_`."""
    if secret.startswith(SECRET_PREFIX):
        secret = secret[len(SECRET_PREFIX) :]
    try:
        key = base64.b64decode(secret, validate=True)
    except (binascii.Error, ValueError) as error:
        raise ValueError("WEBHOOK_SECRET is not whsec_ followed by base64") from error
    if not key:
        raise ValueError("WEBHOOK_SECRET is empty")
    return key


def sign(key, msg_id, timestamp, body):
    """`v1,` and the base64 HMAC-SHA256 of `<msg_id>.<timestamp>.<body>` (body as raw bytes)."""
    signed_content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed_content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def verify(key, headers, body, now):
    """Checks a delivery's headers against its exact body bytes; raises unless it is genuine and fresh.

    `headers` maps lower-case header names to values; `now` is the current unix time in seconds.
    """
    msg_id = headers.get("webhook-id")
    timestamp_header = headers.get("webhook-timestamp")
    signature_header = headers.get("webhook-signature")
    if not msg_id or not timestamp_header or not signature_header:
        raise BadRequestError("missing webhook-id, webhook-timestamp or webhook-signature")
    if not timestamp_header.isascii() or not timestamp_header.isdigit():
        raise BadRequestError("webhook-timestamp is not unix seconds")
    timestamp = int(timestamp_header)
    if now - timestamp > TOLERANCE_SECONDS:
        raise VerificationError("timestamp too old")
    if timestamp - now > TOLERANCE_SECONDS:
        raise VerificationError("timestamp too new")

    expected = sign(key, msg_id, timestamp, body).split(",", 1)[1].encode("ascii")
    # While a secret is rotated the header carries one signature per secret, space-separated;
    # one matching `v1` entry is enough, and other versions are not ours to check.
    for entry in signature_header.split():
        version, _, signature = entry.partition(",")
        if version != "v1":
            continue
        if hmac.compare_digest(expected, signature.encode("utf-8", "replace")):
            return
    raise VerificationError("no matching signature")


class WebhookHandler(BaseHTTPRequestHandler):
    key = b""

    def do_POST(self):
        length = self.headers.get("content-length")
        if length is None or not length.isdigit():
            return self.answer(411, "content-length required")
        if int(length) > MAX_BODY_BYTES:
            return self.answer(413, "body too large")
        body = self.rfile.read(int(length))  # the exact bytes: verify before parsing

        headers = {name.lower(): value for name, value in self.headers.items()}
        try:
            verify(self.key, headers, body, now=int(time.time()))
            event = json.loads(body)
        except BadRequestError as error:
            return self.answer(400, str(error))
        except VerificationError as error:
            return self.answer(401, str(error))
        except ValueError:
            return self.answer(400, "body is not JSON")
        if not isinstance(event, dict):
            return self.answer(400, "body is not a JSON object")

        # webhook-id is the same on every retry of a delivery: de-duplicate on it before acting.
        print(
            f"verified {event.get('type')} event {event.get('id')} (webhook-id {headers['webhook-id']})",
            flush=True,
        )
        self.answer(200, "ok")

    def answer(self, status, text):
        if status >= 300:
            print(f"rejected ({status}): {text}", file=sys.stderr, flush=True)
        payload = text.encode()
        self.send_response(status)
        self.send_header("content-type", "text/plain")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format, *args):  # one line per event is printed above; no access log
        pass


def main():
    secret = os.environ.get("WEBHOOK_SECRET", "")
    try:
        WebhookHandler.key = decode_secret(secret)
    except ValueError as error:
        sys.exit(f"receiver: {error} (set WEBHOOK_SECRET to the webhook's whsec_... secret)")
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "4000"))
    server = ThreadingHTTPServer((host, port), WebhookHandler)
    print(f"receiver listening on http://{host}:{server.server_port}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
