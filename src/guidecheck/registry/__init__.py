"""An OCI distribution client: manifests, blobs and referrers over HTTP(S), read-only and bounded.

:mod:`guidecheck.registry.client` speaks the distribution API (``/v2/``) with the
standard library's ``http.client``: the ``WWW-Authenticate`` challenge flow
(anonymous and bearer tokens, basic auth), credentials from Docker's
``config.json`` (credential helpers only when opted in), TLS verified except for
registries listed as insecure, a timeout on every request, byte caps enforced
while reading, one fetch per digest per run and an optional on-disk cache keyed
by digest.  :mod:`guidecheck.registry.auth` reads the credentials.
"""

from guidecheck.registry.client import Client, Manifest, RegistryError, RegistryOptions

__all__ = ["Client", "Manifest", "RegistryError", "RegistryOptions"]
