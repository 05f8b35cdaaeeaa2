"""The FastAPI app test_asgi_servers.py serves with uvicorn (several worker processes): Digest
(SHA-256 and MD5) on /digest, MD5 only on /md5, Basic on /basic, Bearer on /bearer, any of
them on /any, JWTs (HS256, authgate.JwtVerifier) on /jwt; /open is unprotected. Every response names the worker that served it
(X-Served-By).

Environment: ASGI_APP_KEY (the nonce key's secret and the JWT secret, the same in every
worker), ASGI_APP_REDIS
(a URL) with ASGI_APP_STORE "redis" (RedisNonceStore, asked in a worker thread) or
"async-redis" (AsyncRedisNonceStore, awaited); otherwise authgate's default store."""
import os

from fastapi import Depends, FastAPI, Request

from authgate import JwtVerifier
from authgate.fastapi import BasicAuth, BearerAuth, DigestAuth, MultiAuth

USERS = {"alice": "wonder land", "bob": "builder"}
KEY = os.environ["ASGI_APP_KEY"]

store = None
if os.environ.get("ASGI_APP_STORE") == "redis":
    from authgate.redis_store import RedisNonceStore

    store = RedisNonceStore.from_url(os.environ["ASGI_APP_REDIS"])
elif os.environ.get("ASGI_APP_STORE") == "async-redis":
    from authgate.redis_store import AsyncRedisNonceStore

    store = AsyncRedisNonceStore.from_url(os.environ["ASGI_APP_REDIS"])


async def get_password(user: str):
    return USERS.get(user)


digest = DigestAuth("asgi", get_password=get_password, key=KEY, replay_store=store)
md5 = DigestAuth("asgi", users=USERS, key=KEY, algorithms=["MD5"], replay_store=store, scheme_name="DigestMD5")
basic = BasicAuth("asgi", verify_password=lambda u, p: u if USERS.get(u) == p else None)
bearer = BearerAuth(tokens={"t-alice": "alice"})
jwt = BearerAuth(verifier=JwtVerifier(KEY, ["HS256"], audience="asgi"), scheme_name="JwtAuth")
app = FastAPI()


@app.middleware("http")
async def served_by(request: Request, call_next):
    response = await call_next(request)
    response.headers["X-Served-By"] = str(os.getpid())
    return response


@app.get("/open")
def open_route():
    return {"pid": os.getpid()}


@app.get("/digest")
def digest_route(request: Request, user: str = Depends(digest)):
    return {"user": user, "algorithm": request.state.authgate.algorithm}


@app.get("/md5")
def md5_route(request: Request, user: str = Depends(md5)):
    return {"user": user, "algorithm": request.state.authgate.algorithm}


@app.get("/basic")
def basic_route(user: str = Depends(basic)):
    return {"user": user}


@app.get("/bearer")
def bearer_route(user: str = Depends(bearer)):
    return {"user": user}


@app.get("/jwt")
def jwt_route(claims: dict = Depends(jwt)):
    return {"sub": claims["sub"], "pid": os.getpid()}


@app.get("/any")
def any_route(request: Request, user: str = Depends(MultiAuth(digest, basic, bearer))):
    return {"user": user, "scheme": request.state.authgate.scheme}
