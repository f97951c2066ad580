"""Registry credentials: Docker's ``config.json`` and, when opted in, its credential helpers.

The file is ``$DOCKER_CONFIG/config.json``, else ``~/.docker/config.json`` (or the
path given).  ``auths`` entries give ``auth`` (base64 ``user:password``),
``username``/``password`` or an ``identitytoken``; ``credHelpers`` (per registry)
and ``credsStore`` (for all) name a ``docker-credential-<helper>`` program, which
is run only when the operator allows it (``allow_helpers``): a program named by a
file is code, and an audit must not run it unasked.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from dataclasses import dataclass

MAX_CONFIG_BYTES = 1024 * 1024
HELPER_TIMEOUT = 10.0
# the keys Docker Hub's credentials are stored under
_HUB_KEYS = ("https://index.docker.io/v1/", "index.docker.io", "docker.io", "registry-1.docker.io")


@dataclass(frozen=True)
class Credentials:
    username: str | None = None
    password: str | None = None
    identity_token: str | None = None  # an OAuth2 refresh token for the token endpoint


class CredentialError(Exception):
    """The configuration file or a credential helper could not be used."""


def config_path(explicit: str | None = None) -> str:
    if explicit:
        return explicit
    base = os.environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")
    return os.path.join(base, "config.json")


def load_config(path: str) -> dict:
    """The parsed ``config.json`` ({} when it does not exist); raises :class:`CredentialError`."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise CredentialError(f"{path}: {exc.strerror or exc}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise CredentialError(f"{path}: larger than {MAX_CONFIG_BYTES} bytes")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise CredentialError(f"{path}: not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise CredentialError(f"{path}: not a JSON object")
    return data


def _keys(registry: str) -> list[str]:
    if registry in _HUB_KEYS:
        return list(_HUB_KEYS)
    return [registry, f"https://{registry}", f"http://{registry}", f"https://{registry}/v1/", f"https://{registry}/v2/"]


def lookup(config: dict, registry: str, allow_helpers: bool = False) -> Credentials | None:
    """The credentials for ``registry`` (host[:port]) in a parsed ``config.json``; None when there are none."""
    raw_helpers, raw_auths = config.get("credHelpers"), config.get("auths")
    helpers: dict = raw_helpers if isinstance(raw_helpers, dict) else {}
    auths: dict = raw_auths if isinstance(raw_auths, dict) else {}
    helper = next((helpers[k] for k in _keys(registry) if isinstance(helpers.get(k), str)), None)
    entry = next((auths[k] for k in _keys(registry) if isinstance(auths.get(k), dict)), None)
    if helper is None and isinstance(config.get("credsStore"), str) and not _has_secret(entry):
        helper = config["credsStore"]
    if helper is not None and allow_helpers:
        return run_helper(helper, registry)
    if entry is None:
        return None
    token = entry.get("identitytoken")
    if isinstance(entry.get("auth"), str) and entry["auth"]:
        try:
            user, _, password = base64.b64decode(entry["auth"], validate=True).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            raise CredentialError(f"the auth entry for {registry} is not base64 of user:password") from None
        return Credentials(user, password, token if isinstance(token, str) else None)
    user, password = entry.get("username"), entry.get("password")
    if isinstance(user, str) or isinstance(token, str):
        return Credentials(
            user if isinstance(user, str) else None,
            password if isinstance(password, str) else None,
            token if isinstance(token, str) else None,
        )
    return None


def _has_secret(entry: dict | None) -> bool:
    return bool(entry and (entry.get("auth") or entry.get("password") or entry.get("identitytoken")))


def run_helper(helper: str, registry: str) -> Credentials | None:
    """``docker-credential-<helper> get`` with the registry on standard input (the helper protocol)."""
    if not helper or "/" in helper or os.sep in helper:
        raise CredentialError(f"credential helper name {helper[:60]!r} is not a plain name")
    program = shutil.which(f"docker-credential-{helper}")
    if program is None:
        raise CredentialError(f"credential helper docker-credential-{helper} is not on PATH")
    server = "https://index.docker.io/v1/" if registry in _HUB_KEYS else registry
    try:
        proc = subprocess.run(  # the operator opted in to running helpers
            [program, "get"], input=server.encode(), capture_output=True, timeout=HELPER_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CredentialError(f"credential helper docker-credential-{helper} failed: {exc}") from None
    if proc.returncode != 0:
        if b"credentials not found" in proc.stdout.lower() + proc.stderr.lower():
            return None
        raise CredentialError(f"credential helper docker-credential-{helper} exited {proc.returncode}")
    try:
        data = json.loads(proc.stdout[:MAX_CONFIG_BYTES].decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise CredentialError(f"credential helper docker-credential-{helper} did not answer JSON") from None
    user, secret = data.get("Username"), data.get("Secret")
    if not isinstance(secret, str):
        return None
    if user == "<token>":
        return Credentials(None, None, secret)
    return Credentials(user if isinstance(user, str) else None, secret)
