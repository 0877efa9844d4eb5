"""locustfile.py - one simd session through the shop API, driven by Locust (bench/run.sh api).

The calls and headers of an ordering session of simd's HTTP driver (docs/shop-api.md, "A
session, step by step"): begin, browse a category, set the cart, the wallet and the eligible
coupons, set the cart again at checkout, apply the first eligible coupon when there is one,
and the order with its Idempotency-Key.  Every request carries the user's HS256 token
(claims sub, iat, exp, sim: true, cached per user as simd does), X-Simulation-Mode: true,
X-Sim-Time and Accept: application/json.

FastHttpUser, 16 users by bench/run.sh, no wait between sessions.  The users run
LOCUST_SESSIONS sessions in all, then Locust quits; the figures of the measured part (from
the first session's start to the last one's end: wall time, this process's CPU time,
sessions, requests, failures) are written as JSON to LOCUST_OUT.

Environment (all set by bench/run.sh):
  LOCUST_SECRET_FILE  the HS256 key (its bytes less trailing newlines, as simd reads it)
  LOCUST_USERS        users 1..N exist in the shop
  LOCUST_CATEGORIES   product categories, comma-separated
  LOCUST_SIM_TIME     X-Sim-Time of every step (unix seconds inside the coupons' validity)
  LOCUST_SESSIONS     sessions to run in all
  LOCUST_OUT          where the figures go
"""

import base64
import hashlib
import hmac
import json
import os
import time

import gevent
from locust import FastHttpUser, constant, events, task
from locust.exception import StopUser

SECRET = open(os.environ["LOCUST_SECRET_FILE"], "rb").read().rstrip(b"\r\n")
USERS = int(os.environ["LOCUST_USERS"])
CATEGORIES = os.environ["LOCUST_CATEGORIES"].split(",")
SIM_TIME = os.environ["LOCUST_SIM_TIME"]
SESSIONS = int(os.environ["LOCUST_SESSIONS"])
OUT = os.environ["LOCUST_OUT"]
TTL = 3600


class Run:
    """What all users share: the session counter and the measured span."""

    started = 0
    done = 0
    requests = 0
    failures = 0
    t0 = None
    cpu0 = None
    tokens = {}


def cpu_s():
    t = os.times()
    return t.user + t.system


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=")


def token(user):
    """The user's token, signed again when a tenth of its life is left (as simd does)."""
    now = int(time.time())
    cached = Run.tokens.get(user)
    if cached is not None and cached[1] - now > TTL // 10:
        return cached[0]
    head = b64url(b'{"alg":"HS256","typ":"JWT"}')
    claims = json.dumps({"sub": str(user), "iat": now, "exp": now + TTL, "sim": True},
                        separators=(",", ":")).encode()
    signing = head + b"." + b64url(claims)
    sig = b64url(hmac.new(SECRET, signing, hashlib.sha256).digest())
    tok = (signing + b"." + sig).decode()
    Run.tokens[user] = (tok, now + TTL)
    return tok


@events.request.add_listener
def on_request(exception=None, **kw):
    Run.requests += 1
    if exception is not None:
        Run.failures += 1


class Shopper(FastHttpUser):
    wait_time = constant(0)

    def call(self, method, path, user, body=None, idem=None, name=None):
        headers = {
            "Authorization": "Bearer " + token(user),
            "X-Simulation-Mode": "true",
            "X-Sim-Time": SIM_TIME,
            "Accept": "application/json",
        }
        if idem is not None:
            headers["Idempotency-Key"] = idem
        with self.client.request(method, path, json=body, headers=headers, name=name,
                                 catch_response=True) as r:
            if r.status_code not in (200, 201):
                r.failure("%s %s: %s" % (method, path, r.status_code))
                return None
            try:
                return r.json()
            except ValueError:
                r.failure("%s %s: not JSON" % (method, path))
                return None

    @task
    def session(self):
        if Run.started >= SESSIONS:
            raise StopUser()
        if Run.t0 is None:
            Run.t0, Run.cpu0 = time.monotonic(), cpu_s()
        n = Run.started
        Run.started += 1
        try:
            self.one(n)
        finally:
            Run.done += 1
            if Run.done == SESSIONS:
                self.finish()

    def one(self, n):
        user = n % USERS + 1
        cat = CATEGORIES[n % len(CATEGORIES)]
        if self.call("POST", "/api/shopping/session", user, {"user_id": user}) is None:
            return
        found = self.call("GET", "/api/products/search?category=" + cat, user,
                          name="/api/products/search")
        if not found or not found.get("products"):
            return
        items = [{"product_id": p["id"], "quantity": 1 + i % 2}
                 for i, p in enumerate(found["products"][n % 3:n % 3 + 3])]
        cart = {"user_id": user, "items": items}
        q = "?user_id=%d" % user
        self.call("POST", "/api/cart/items", user, cart)
        self.call("GET", "/api/coupons/wallet" + q, user, name="/api/coupons/wallet")
        fits = self.call("GET", "/api/coupons/eligible" + q, user, name="/api/coupons/eligible")
        self.call("POST", "/api/cart/items", user, cart)
        if fits and fits.get("coupons"):
            self.call("POST", "/api/cart/coupons", user,
                      {"user_id": user, "coupon_id": fits["coupons"][0]["coupon_id"]})
        key = "locust:%d:%d:order" % (os.getpid(), n)
        self.call("POST", "/api/orders", user, {"user_id": user}, idem=key)

    def finish(self):
        wall, cpu = time.monotonic() - Run.t0, cpu_s() - Run.cpu0
        with open(OUT, "w") as f:
            json.dump({"sessions": Run.done, "requests": Run.requests,
                       "failures": Run.failures, "wall_s": wall, "cpu_s": cpu}, f)
        # Not from this greenlet: quit() kills every user's, this one too, midway.
        gevent.spawn(self.environment.runner.quit)
        raise StopUser()
