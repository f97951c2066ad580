"""Rebuild the second real-world corpus (issue 14) from git mirrors or clones.

    python benchmarks/corpus2.py --mirrors DIR [--out /work/corpus2] [--clone]

`benchmarks/corpus2.tsv` names, per public repository, the commit and the files taken from it. For
each row the script finds the repository under DIR (`owner+name/repo`, `owner__name`,
`owner__name.git` or `name`, bare or not), reads the listed commit's tree, and writes every
selected file unmodified to `OUT/owner__name/<path in the repository>`. With `--clone`, a missing
repository is first cloned (bare, from https://github.com/owner/name) into DIR: that is the only
step that uses the network, and it is for the human running the script (the tests never do).

Left out, as in the dev corpus: symlinks, submodules, files of 4 MiB and more, and binary files
(a NUL byte in the first 8 KiB). Every file written is checked against its git blob hash. The
script then writes `OUT/PROVENANCE.tsv` (owner/repo, commit, path, licence: one row per file) and
`OUT/SUMMARY.md` (files per repository, and what kinds of deployment files the corpus holds).
OUT is emptied first; it must not be inside a git work tree of this project.
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import json
import re
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
TSV = HERE / "corpus2.tsv"
MAX_BYTES = 4 * 1024 * 1024
NOT_DOCKERFILES = frozenset({".groovy", ".md", ".txt", ".sh", ".py", ".go", ".json", ".yaml", ".yml"})


@dataclass
class Row:
    project: str
    commit: str
    licence: str
    selectors: list[str]

    @property
    def folder(self) -> str:
        return self.project.replace("/", "__")


def read_tsv(path: Path = TSV) -> list[Row]:
    rows: list[Row] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#") or line.startswith("project\t"):
            continue
        project, commit, licence, paths = line.split("\t")
        if not re.fullmatch(r"[0-9a-f]{40}", commit):
            raise SystemExit(f"{path}: {project}: commit must be 40 hex digits, not {commit!r}")
        rows.append(Row(project, commit, licence, paths.split()))
    return rows


def _matches(selector: str, path: str) -> bool:
    if selector.endswith("/"):
        return path.startswith(selector)
    if any(c in selector for c in "*?["):
        # fnmatch's * also matches "/", so "*.yaml" is every YAML file of the repository; a
        # pattern without "/" is also tried on the file name, so "Dockerfile*" finds them anywhere.
        return fnmatch.fnmatchcase(path, selector) or (
            "/" not in selector and fnmatch.fnmatchcase(path.rsplit("/", 1)[-1], selector)
        )
    return path == selector


def select(paths: list[str], selectors: list[str]) -> list[str]:
    keep = [s for s in selectors if not s.startswith("!")]
    drop = [s[1:] for s in selectors if s.startswith("!")]
    return [p for p in paths if any(_matches(s, p) for s in keep) and not any(_matches(s, p) for s in drop)]


def find_repo(mirrors: Path, project: str) -> Path | None:
    owner, name = project.split("/")
    for cand in (
        mirrors / f"{owner}+{name}" / "repo",
        mirrors / f"{owner}__{name}",
        mirrors / f"{owner}__{name}.git",
        mirrors / name,
    ):
        if (cand / "HEAD").is_file() or (cand / ".git").exists():
            return cand
    return None


def git(repo: Path, *args: str, data: bytes | None = None) -> bytes:
    where = ["--git-dir", str(repo)] if (repo / "HEAD").is_file() else ["-C", str(repo)]
    return subprocess.run(["git", *where, *args], input=data, capture_output=True, check=True).stdout


@dataclass
class Entry:
    path: str
    blob: str
    size: int


def tree(repo: Path, commit: str) -> list[Entry]:
    """Regular files of the commit (symlinks mode 120000 and submodules 160000 left out)."""
    out = git(repo, "ls-tree", "-r", "-l", "-z", "--full-tree", commit)
    entries = []
    for rec in out.split(b"\0"):
        if not rec:
            continue
        meta, path = rec.split(b"\t", 1)
        mode, kind, blob, size = meta.split()
        if kind != b"blob" or mode not in (b"100644", b"100755"):
            continue
        entries.append(Entry(path.decode("utf-8", "surrogateescape"), blob.decode(), int(size)))
    return entries


def blobs(repo: Path, ids: list[str]) -> dict[str, bytes]:
    """The contents of the blobs, read in one `git cat-file --batch`."""
    out = git(repo, "cat-file", "--batch", data="".join(i + "\n" for i in ids).encode())
    got: dict[str, bytes] = {}
    pos = 0
    for i in ids:
        nl = out.index(b"\n", pos)
        header = out[pos:nl].split()
        size = int(header[2])
        got[i] = out[nl + 1 : nl + 1 + size]
        pos = nl + 1 + size + 1
    return got


def blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class Built:
    row: Row
    files: list[tuple[str, int]] = field(default_factory=list)  # path, bytes
    left_out: Counter = field(default_factory=Counter)


def build_one(row: Row, repo: Path, out: Path) -> Built:
    built = Built(row)
    entries = {e.path: e for e in tree(repo, row.commit)}
    chosen = select(sorted(entries), row.selectors)
    small = [entries[p] for p in chosen if entries[p].size < MAX_BYTES]
    built.left_out["4 MiB or more"] += len(chosen) - len(small)
    data = blobs(repo, sorted({e.blob for e in small}))
    for e in small:
        content = data[e.blob]
        if blob_id(content) != e.blob:
            raise SystemExit(f"{row.project}: {e.path}: content does not match blob {e.blob}")
        if b"\0" in content[:8192]:
            built.left_out["binary"] += 1
            continue
        dest = out / row.folder / e.path
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(content)
        built.files.append((e.path, len(content)))
    return built


# --- what the corpus holds (SUMMARY.md) -----------------------------------------------------


def _yaml_docs(path: Path) -> list:
    import yaml  # the project's dependency; only the summary needs it

    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        if path.suffix == ".json":
            return [json.loads(text)]
        return [d for d in yaml.load_all(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) if d is not None]
    except Exception:  # noqa: BLE001 - a file that does not parse is counted as such
        return [ValueError()]


def kinds(out: Path) -> Counter:
    c: Counter = Counter()
    files = sorted(p for p in out.rglob("*") if p.is_file() and p.name not in ("PROVENANCE.tsv", "SUMMARY.md"))
    charts = [p.parent for p in files if p.name == "Chart.yaml"]
    chart_set = set(charts)
    c["charts"] = len(charts)
    c["top charts"] = sum(1 for ch in charts if not any(a in chart_set for a in ch.parents))
    kustom = [p for p in files if p.name in ("kustomization.yaml", "kustomization.yml", "Kustomization")]
    c["kustomizations"] = len(kustom)
    for p in files:
        rel = p.relative_to(out).as_posix()
        name = p.name
        in_templates = any(a.name == "templates" and a.parent in chart_set for a in p.parents)
        low = name.lower()
        if low.endswith((".dockerfile", ".containerfile")) or (
            low.startswith(("dockerfile", "containerfile")) and p.suffix not in NOT_DOCKERFILES
        ):
            c["Dockerfiles"] += 1
            continue
        if in_templates:
            c["Helm template files"] += 1
            continue
        if name == "Jenkinsfile" or name.startswith("Jenkinsfile") or name.endswith(".jenkinsfile"):
            c["Jenkinsfiles"] += 1
            continue
        if "/.github/workflows/" in rel and p.suffix in (".yml", ".yaml"):
            c["GitHub Actions workflows"] += 1
            continue
        if name.endswith(".gitlab-ci.yml") or "/.gitlab/ci/" in rel:
            c["GitLab CI files"] += 1
            continue
        if p.suffix not in (".yaml", ".yml", ".json"):
            continue
        if p.stat().st_size > MAX_BYTES:
            continue
        docs = _yaml_docs(p)
        if any(isinstance(d, ValueError) for d in docs):
            c["YAML/JSON files that do not parse (templates, fragments)"] += 1
            continue
        _count_documents(c, name, p.suffix, docs)
    return c


def _count_documents(c: Counter, name: str, suffix: str, docs: list) -> None:
    maps = [d for d in docs if isinstance(d, dict)]
    k8s = [d for d in maps if "apiVersion" in d and "kind" in d]
    if k8s:
        c["plain Kubernetes manifest files"] += 1
        if len(docs) > 1:
            c["  of which multi-document"] += 1
        for d in k8s:
            c[f"object {d.get('kind')}"] += 1
            items = d.get("items") if d.get("kind") == "List" else None
            for it in items if isinstance(items, list) else []:
                if isinstance(it, dict):
                    c[f"object {it.get('kind')}"] += 1
    elif any("openapi" in d or "swagger" in d for d in maps):
        c["OpenAPI/Swagger documents"] += 1
    elif any(isinstance(d.get("groups"), list) for d in maps):
        c["Prometheus rule files (plain groups:)"] += 1
    elif any("panels" in d or ("dashboard" in d and isinstance(d["dashboard"], dict)) for d in maps):
        c["Grafana dashboard JSON/YAML"] += 1
    elif name.startswith("values") and suffix in (".yaml", ".yml"):
        c["Helm values files"] += 1
    elif any("services" in d for d in maps) and "compose" in name:
        c["Docker Compose files"] += 1


SUMMARY_KINDS = [
    ("Dockerfiles (Dockerfile*, *.Dockerfile, Containerfile*)", "Dockerfiles"),
    ("Helm charts (top-level / incl. nested and vendored subcharts)", None),
    ("Helm template files (under a chart's templates/)", "Helm template files"),
    ("Helm values files outside templates (values*.yaml)", "Helm values files"),
    ("Kustomizations (kustomization.yaml, bases and overlays)", "kustomizations"),
    ("Plain Kubernetes manifest files (YAML/JSON with apiVersion+kind)", "plain Kubernetes manifest files"),
    ("  of which multi-document", "  of which multi-document"),
    ("OpenAPI/Swagger documents (top-level openapi/swagger key)", "OpenAPI/Swagger documents"),
    ("CI: GitHub Actions workflow files", "GitHub Actions workflows"),
    ("CI: GitLab CI files", "GitLab CI files"),
    ("CI: Jenkinsfiles", "Jenkinsfiles"),
    ("Prometheus rule files (plain groups:, not CRs)", "Prometheus rule files (plain groups:)"),
    ("Grafana dashboards (JSON/YAML with panels)", "Grafana dashboard JSON/YAML"),
    ("Docker Compose files", "Docker Compose files"),
    (
        "YAML/JSON that does not parse as is (templates, fragments)",
        "YAML/JSON files that do not parse (templates, fragments)",
    ),
]
OBJECT_KINDS = [
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "CronJob",
    "Job",
    "Service",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
    "NetworkPolicy",
    "Ingress",
    "PrometheusRule",
    "ServiceMonitor",
    "PodMonitor",
    "CustomResourceDefinition",
    "HelmRelease",
    "Kustomization",
]


def summary(built: list[Built], out: Path) -> str:
    total = sum(len(b.files) for b in built)
    size = sum(n for b in built for _, n in b.files)
    lines = [
        "# guidecheck's second real-world corpus (corpus2)",
        "",
        "Every file under this folder is an unmodified copy of a file that someone else committed to a public",
        "GitHub repository, written by `benchmarks/corpus2.py` from `benchmarks/corpus2.tsv` (which lists the",
        "repositories, commits, licences and selectors). Layout: `<owner>__<repo>/<original path in repo>`.",
        "`PROVENANCE.tsv` has one row per file: `owner/repo`, `commit`, `path`, `license`.",
        "",
        "* **Byte-for-byte:** every file's git blob hash was recomputed and matched the commit's tree entry.",
        "* **Licences:** Apache-2.0, MIT or BSD-3-Clause, as read from each repository's LICENSE file (copied",
        "  into its folder). None of the repositories is among the dev corpus's.",
        "* **Left out:** symlinks, submodules, binaries (a NUL byte in the first 8 KiB), files of 4 MiB and",
        "  more, and source code the selectors exclude. A selected Helm chart is copied whole.",
        "",
        f"## Contents: {total} files, {size / 1e6:.2f} MB",
        "",
        "| repo | commit | license | files | KB | left out (binary / 4 MiB+) |",
        "|---|---|---|---:|---:|---|",
    ]
    for b in built:
        kb = sum(n for _, n in b.files) / 1000
        lo = f"{b.left_out['binary']} / {b.left_out['4 MiB or more']}"
        lines.append(
            f"| {b.row.project} | `{b.row.commit[:12]}` | {b.row.licence} | {len(b.files)} | {kb:.0f} | {lo} |"
        )
    c = kinds(out)
    lines += ["", "| file kind | count |", "|---|---:|"]
    for label, key in SUMMARY_KINDS:
        value = f"{c['top charts']} / {c['charts']}" if key is None else str(c[key])
        lines.append(f"| {label} | {value} |")
    objs = " / ".join(str(c[f"object {k}"]) for k in OBJECT_KINDS)
    lines.append(f"| objects in plain manifests: {' / '.join(OBJECT_KINDS)} | {objs} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--mirrors", type=Path, required=True, help="directory of git mirrors or clones")
    ap.add_argument("--out", type=Path, default=Path("/work/corpus2"), help="where to write (emptied first)")
    ap.add_argument("--clone", action="store_true", help="clone a missing repository (network) into --mirrors")
    ap.add_argument("--tsv", type=Path, default=TSV)
    args = ap.parse_args(argv)
    rows = read_tsv(args.tsv)
    repos: dict[str, Path] = {}
    for row in rows:
        repo = find_repo(args.mirrors, row.project)
        if repo is None and args.clone:
            repo = args.mirrors / f"{row.folder}.git"
            subprocess.run(["git", "clone", "--bare", f"https://github.com/{row.project}", str(repo)], check=True)
        if repo is None:
            print(f"{row.project}: no mirror or clone under {args.mirrors} (--clone fetches it)", file=sys.stderr)
            return 2
        try:
            git(repo, "cat-file", "-e", f"{row.commit}^{{commit}}")
        except subprocess.CalledProcessError:
            print(f"{row.project}: {repo} has no commit {row.commit} (fetch it first)", file=sys.stderr)
            return 2
        repos[row.project] = repo
    out = args.out.resolve()
    if out.exists():
        if (out / ".git").exists() or (out / "pyproject.toml").exists():
            print(f"{out} looks like a repository, not a corpus: refusing to empty it", file=sys.stderr)
            return 2
        shutil.rmtree(out)
    out.mkdir(parents=True)
    built = [build_one(row, repos[row.project], out) for row in rows]
    prov = ["owner/repo\tcommit\tpath\tlicense"]
    for b in built:
        prov += [f"{b.row.project}\t{b.row.commit}\t{p}\t{b.row.licence}" for p, _ in b.files]
    (out / "PROVENANCE.tsv").write_text("\n".join(prov) + "\n", encoding="utf-8")
    (out / "SUMMARY.md").write_text(summary(built, out), encoding="utf-8")
    print(f"{out}: {sum(len(b.files) for b in built)} files from {len(built)} repositories")
    return 0


if __name__ == "__main__":
    sys.exit(main())
