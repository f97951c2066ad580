"""Backups (GC801-GC803): coverage edges, settings, live evidence from a dump, hostile data."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pytest

from guidecheck.catalog import load_rules
from guidecheck.checks import backup_index
from guidecheck.config import Config, ConfigError, config_from_dict
from guidecheck.model import Status
from guidecheck.parsers import backup

from conftest import in_process_scan

RULES = load_rules()
NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)
DUMP = {"source": "dump", "repo": "cluster/test"}

STS = """\
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: postgres
  namespace: shop
spec:
  selector:
    matchLabels: {app: postgres}
  template:
    metadata:
      labels: {app: postgres}
    spec:
      containers:
        - name: postgres
          image: postgres:16.4
  volumeClaimTemplates:
    - metadata:
        name: data
"""


def schedule(expr: str, extra: str = "", name: str = "shop") -> str:
    return (
        textwrap.dedent(f"""\
        apiVersion: velero.io/v1
        kind: Schedule
        metadata:
          name: {name}
          namespace: velero
        spec:
          schedule: "{expr}"
          template:
            includedNamespaces: [shop]
        """)
        + extra
    )


def cronjob(metadata: str, when: str, containers: str) -> str:
    """A CronJob with its ``metadata`` and ``containers`` in flow style, run on schedule ``when``."""
    return textwrap.dedent(f"""\
        apiVersion: batch/v1
        kind: CronJob
        metadata: {metadata}
        spec:
          schedule: "{when}"
          jobTemplate:
            spec:
              template:
                spec:
                  containers: {containers}
        """)


def drill(when: str) -> str:
    """A restore-test CronJob marked by its label (no recognised command)."""
    meta = '{name: drill, namespace: dr, labels: {guidecheck.io/restore-test: "true"}}'
    return cronjob(meta, when, "[{name: d, image: example/drill:1.0.0}]")


def scan(
    tmp_path: Path,
    docs: list[str],
    rules: tuple[str, ...],
    settings: dict | None = None,
    origin: dict | None = None,
    now: dt.datetime = NOW,
):
    for i, text in enumerate(docs):
        (tmp_path / f"m{i:02d}.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    config = config_from_dict({"settings": settings}) if settings else Config()
    result = in_process_scan([tmp_path], config, select=(*rules, "GC001"), now=now, origin=origin, rules=RULES)
    assert not result.incomplete, result.incomplete
    assert not [f for f in result.findings if f.rule_id == "GC001"]
    return result


def msgs(result, rule: str) -> list[str]:
    return sorted(f.message for f in result.findings if f.rule_id == rule and not f.suppressed)


def statuses(result, rule: str) -> dict[str, str]:
    return {str(o.target.ref): o.status.value for o in result.outcomes if o.rule_id == rule}


# ---------------------------------------------------------------- not applicable


def test_no_persistent_data_is_not_applicable(tmp_path):
    r = scan(
        tmp_path,
        [
            """\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web}
        spec:
          template:
            spec:
              containers: [{name: web, image: nginx:1.27.0}]
              volumes: [{name: tmp, emptyDir: {}}]
        """
        ],
        ("GC801", "GC802", "GC803"),
    )
    assert r.findings == []
    assert {o.status for o in r.outcomes if o.rule_id.startswith("GC80")} == {Status.NOT_APPLICABLE}


def test_no_backup_reports_gc802_gc803_once_per_scope(tmp_path):
    second = STS.replace("name: postgres\n  namespace", "name: redis\n  namespace")
    r = scan(tmp_path, [STS, second], ("GC801", "GC802", "GC803"))
    assert len(msgs(r, "GC801")) == 2
    assert len(msgs(r, "GC802")) == 1 and len(msgs(r, "GC803")) == 1
    assert "2 object(s)" in msgs(r, "GC803")[0]
    # what is missing is a schedule guidecheck reads: an operator's own schedule field (PerconaXtraDBCluster
    # spec.backup.schedule) may take backups it does not see, so the message does not say none is taken
    for rule in ("GC802", "GC803"):
        assert msgs(r, rule)[0].startswith("no backup schedule guidecheck reads is in its scope, so no backup is")


def test_the_same_holder_in_two_files_is_named_with_its_files(tmp_path):
    """envoy's test goldens hold StatefulSet/monitoring/loki twice: the list said it twice, indistinguishably."""
    r = scan(tmp_path, [STS, STS], ("GC802", "GC803"))
    for m in msgs(r, "GC802") + msgs(r, "GC803"):
        assert "StatefulSet/shop/postgres (" in m and "m00.yaml), StatefulSet/shop/postgres (" in m, m
    (tmp_path / "one").mkdir()
    [m] = msgs(scan(tmp_path / "one", [STS], ("GC803",)), "GC803")
    assert "persistent volumes: StatefulSet/shop/postgres)" in m, m  # one copy: no file named


# ---------------------------------------------------------------- GC801 coverage edges


@pytest.mark.parametrize(
    "expr, ok",
    [
        ("0 */6 * * *", True),
        ("0 0 * * *", False),
        ("@every 12h", True),
        ("@every 13h", False),
        ("CRON_TZ=Europe/Madrid 0 */12 * * *", False),
        ("CRON_TZ=UTC 0 */12 * * *", True),
        ("0 0,12 * * *", True),
    ],
)
def test_velero_cadence(tmp_path, expr, ok):
    r = scan(tmp_path, [STS, schedule(expr)], ("GC801",))
    assert (msgs(r, "GC801") == []) is ok, msgs(r, "GC801")


def test_daily_message_names_schedule_and_gap(tmp_path):
    r = scan(tmp_path, [STS, schedule("0 0 * * *", name="daily-backup")], ("GC801",))
    [f] = [f for f in r.findings if f.rule_id == "GC801"]
    assert "StatefulSet/shop/postgres" in f.message
    assert "covered by Schedule/velero/daily-backup, but its worst-case gap is 1 d (0 0 * * *)" in f.message
    assert f.line == 17 and f.path.endswith("m00.yaml")


def test_settings_change_the_limit(tmp_path):
    r = scan(tmp_path, [STS, schedule("0 0 * * *")], ("GC801",), settings={"snapshot-interval-hours": 24})
    assert msgs(r, "GC801") == []


@pytest.mark.parametrize(
    "extra, reason",
    [
        ("    excludedNamespaces: [shop]\n", "excludes namespace shop"),
        ("    includedResources: [deployments, configmaps]\n", "includes only resources"),
        ("    excludedResources: [persistentvolumeclaims]\n", "excludes persistent volume claims"),
        ("    excludedNamespaceScopedResources: [pvc]\n", "excludes persistent volume claims"),
        ("    includedNamespaceScopedResources: [configmaps]\n", "includes only resources configmaps"),
        ("    snapshotVolumes: false\n", "snapshotVolumes: false"),
        ("    orLabelSelectors:\n      - matchLabels: {app: other}\n", "label selector"),
    ],
)
def test_velero_schedule_that_does_not_cover(tmp_path, extra, reason):
    r = scan(tmp_path, [STS, schedule("0 */6 * * *", extra)], ("GC801",))
    [m] = msgs(r, "GC801")
    assert "covered by no backup schedule" in m and reason in m


def test_fs_backup_rescues_snapshot_volumes_false(tmp_path):
    extra = "    snapshotVolumes: false\n    defaultVolumesToFsBackup: true\n"
    r = scan(tmp_path, [STS, schedule("0 */6 * * *", extra)], ("GC801",))
    assert msgs(r, "GC801") == []


def test_paused_schedule_does_not_count(tmp_path):
    doc = schedule("0 */6 * * *").replace("spec:\n", "spec:\n  paused: true\n")
    r = scan(tmp_path, [STS, doc], ("GC801",))
    assert ["paused" in m for m in msgs(r, "GC801")] == [True]


def test_selector_matching_pod_labels_covers(tmp_path):
    extra = "    labelSelector:\n      matchLabels: {app: postgres}\n"
    r = scan(tmp_path, [STS, schedule("0 */6 * * *", extra)], ("GC801",))
    assert msgs(r, "GC801") == []


def test_scheduled_volume_snapshot_frequency(tmp_path):
    svs = """\
        apiVersion: k8s.ryanorth.io/v1beta1
        kind: ScheduledVolumeSnapshot
        metadata: {name: pg, namespace: shop}
        spec:
          persistentVolumeClaimName: data-postgres-0
          snapshotFrequency: %s
        """
    assert msgs(scan(tmp_path, [STS, svs % "6h"], ("GC801",)), "GC801") == []
    [m] = msgs(scan(tmp_path, [STS, svs % "1d"], ("GC801",)), "GC801")
    assert "worst-case gap is 1 d (every 1d)" in m


def test_invalid_schedule_is_named(tmp_path):
    r = scan(tmp_path, [STS, schedule("61 * * * *")], ("GC801",))
    [m] = msgs(r, "GC801")
    assert "invalid schedule" in m and "Bad minute" in m


def test_cronjob_covers_only_the_claims_it_mounts(tmp_path):
    job = """\
        apiVersion: batch/v1
        kind: CronJob
        metadata: {name: backup-other, namespace: shop}
        spec:
          schedule: "0 */2 * * *"
          jobTemplate:
            spec:
              template:
                spec:
                  containers:
                    - name: restic
                      image: restic/restic:0.17.0
                      args: [backup, /data]
                  volumes:
                    - name: data
                      persistentVolumeClaim: {claimName: %s}
        """
    [m] = msgs(scan(tmp_path, [STS, job % "other-claim"], ("GC801",)), "GC801")
    assert "backs up claims other-claim" in m
    assert msgs(scan(tmp_path, [STS, job % "data-postgres-0"], ("GC801",)), "GC801") == []


def test_hostile_values_do_not_crash(tmp_path):
    r = scan(
        tmp_path,
        [
            STS,
            """\
        apiVersion: velero.io/v1
        kind: Schedule
        metadata: {name: odd, namespace: velero}
        spec:
          schedule: 5
          template: [1, 2]
        ---
        apiVersion: snapscheduler.backube/v1
        kind: SnapshotSchedule
        metadata: {name: odd, namespace: shop}
        spec: null
        ---
        apiVersion: batch/v1
        kind: CronJob
        metadata:
          name: restore
          namespace: shop
          annotations: {guidecheck.io/restore-test: "yes"}
        spec:
          schedule: [0]
        """,
        ],
        ("GC801", "GC802", "GC803"),
    )
    assert any("has no schedule" in m for m in msgs(r, "GC801"))
    assert any("has no schedule" in m for m in msgs(r, "GC803"))


# ---------------------------------------------------------------- GC802 / GC803 settings and markers


def test_user_verification_pattern_extends_defaults(tmp_path):
    job = cronjob(
        "{name: verify, namespace: velero}",
        "0 5 * * *",
        "[{name: v, image: example/verify:1.0.0, args: [our-verifier, --all]}]",
    )
    docs = [STS, schedule("0 */6 * * *"), job]
    assert len(msgs(scan(tmp_path, docs, ("GC802",)), "GC802")) == 1
    r = scan(tmp_path, docs, ("GC802",), settings={"backup-verification-patterns": {"ours": r"\bour-verifier\b"}})
    assert msgs(r, "GC802") == []
    assert backup_index.merged_patterns(
        {"backup-verification-patterns": {"checksum-check": None}}, "backup-verification-patterns"
    ).keys() >= {"restic-check-read-data"}
    assert "checksum-check" not in backup_index.merged_patterns(
        {"backup-verification-patterns": {"checksum-check": None}}, "backup-verification-patterns"
    )


def test_plain_restic_check_is_not_verification(tmp_path):
    job = cronjob(
        "{name: verify, namespace: velero}", "0 5 * * *", "[{name: v, image: restic/restic:0.17.0, args: [check]}]"
    )
    assert len(msgs(scan(tmp_path, [STS, schedule("0 */6 * * *"), job], ("GC802",)), "GC802")) == 1


def test_invalid_pattern_is_a_config_error():
    with pytest.raises(ConfigError, match="backup-job-patterns.mine"):
        config_from_dict({"settings": {"backup-job-patterns": {"mine": "("}}})


def test_restore_test_limit_setting(tmp_path):
    job = drill("0 2 1,15 * *")
    assert len(msgs(scan(tmp_path, [job], ("GC803",)), "GC803")) == 1
    assert msgs(scan(tmp_path, [job], ("GC803",), settings={"restore-test-days": 17}), "GC803") == []


# ---------------------------------------------------------------- live evidence (cluster dump)


def velero_backup(name: str, completed: str, phase: str = "Completed", sched: str = "shop") -> str:
    return textwrap.dedent(f"""\
        apiVersion: velero.io/v1
        kind: Backup
        metadata:
          name: {name}
          namespace: velero
          labels: {{velero.io/schedule-name: {sched}}}
        status:
          phase: {phase}
          completionTimestamp: "{completed}"
        """)


def test_live_recent_velero_backup_passes(tmp_path):
    docs = [STS, schedule("0 */6 * * *"), velero_backup("shop-1", "2026-11-27T06:00:00Z")]
    r = scan(tmp_path, docs, ("GC801",), origin=DUMP)
    assert msgs(r, "GC801") == []
    assert statuses(r, "GC801")["StatefulSet/shop/postgres"] == "pass"


def test_live_old_velero_backup_fails(tmp_path):
    docs = [
        STS,
        schedule("0 */6 * * *"),
        velero_backup("shop-1", "2026-11-26T18:00:00Z"),
        velero_backup("shop-2", "2026-11-27T10:00:00Z", phase="PartiallyFailed"),
        velero_backup("other-1", "2026-11-27T11:00:00Z", sched="other"),
    ]
    [m] = msgs(scan(tmp_path, docs, ("GC801",), origin=DUMP), "GC801")
    assert "finished 18 h ago (Backup/velero/shop-1" in m and "older than 12 h" in m


def test_live_static_manifests_are_not_judged_on_status(tmp_path):
    docs = [STS, schedule("0 */6 * * *"), velero_backup("shop-1", "2026-11-20T00:00:00Z")]
    assert msgs(scan(tmp_path, docs, ("GC801",)), "GC801") == []  # plain manifests: no live part


def test_live_no_completed_backup(tmp_path):
    docs = [STS, schedule("0 */6 * * *")]
    [m] = msgs(scan(tmp_path, docs, ("GC801",), origin=DUMP), "GC801")
    assert "no completed snapshot or backup" in m and "Schedule/velero/shop" in m


def test_live_volume_snapshot_of_the_claim(tmp_path):
    snap = """\
        apiVersion: snapshot.storage.k8s.io/v1
        kind: VolumeSnapshot
        metadata: {name: data-postgres-0-x, namespace: shop}
        spec:
          source: {persistentVolumeClaimName: data-postgres-0}
        status:
          readyToUse: %s
          creationTime: "%s"
        """
    sched = """\
        apiVersion: snapscheduler.backube/v1
        kind: SnapshotSchedule
        metadata: {name: every-4h, namespace: shop}
        spec:
          schedule: "0 */4 * * *"
        """
    ok = scan(tmp_path, [STS, sched, snap % ("true", "2026-11-27T08:00:00Z")], ("GC801",), origin=DUMP)
    assert msgs(ok, "GC801") == []
    [m] = msgs(scan(tmp_path, [STS, sched, snap % ("false", "2026-11-27T08:00:00Z")], ("GC801",), origin=DUMP), "GC801")
    assert "no completed snapshot" in m


def test_live_cnpg_last_successful_backup(tmp_path):
    cluster = """\
        apiVersion: postgresql.cnpg.io/v1
        kind: Cluster
        metadata: {name: pg, namespace: db}
        spec:
          storage: {size: 1Gi}
        status:
          lastSuccessfulBackup: "%s"
        ---
        apiVersion: postgresql.cnpg.io/v1
        kind: ScheduledBackup
        metadata: {name: pg, namespace: db}
        spec:
          schedule: "0 0 */4 * * *"
          cluster: {name: pg}
        """
    assert msgs(scan(tmp_path, [cluster % "2026-11-27T09:00:00Z"], ("GC801",), origin=DUMP), "GC801") == []
    [m] = msgs(scan(tmp_path, [cluster % "2026-11-25T09:00:00Z"], ("GC801",), origin=DUMP), "GC801")
    assert "2 d 3 h ago" in m


RESTORE_JOB = """\
apiVersion: batch/v1
kind: CronJob
metadata: {name: restore-test, namespace: velero}
spec:
  schedule: "0 3 * * 0"
  jobTemplate:
    spec:
      template:
        spec:
          containers:
            - name: velero
              image: velero/velero:v1.14.1
              args: [restore, create, --from-schedule, shop, --namespace-mappings, "shop:shop-test"]
              command: [/velero]
status:
  lastSuccessfulTime: "%s"
"""


def test_live_restore_test_age(tmp_path):
    ok = scan(tmp_path, [schedule("0 */6 * * *"), RESTORE_JOB % "2026-11-22T03:10:00Z"], ("GC803",), origin=DUMP)
    assert msgs(ok, "GC803") == []
    [m] = msgs(
        scan(tmp_path, [schedule("0 */6 * * *"), RESTORE_JOB % "2026-11-01T03:10:00Z"], ("GC803",), origin=DUMP),
        "GC803",
    )
    assert "last successful restore test finished 26 d 8 h ago" in m and "older than 15 d" in m


def test_live_velero_restore_object_counts(tmp_path):
    restore = """\
        apiVersion: velero.io/v1
        kind: Restore
        metadata: {name: shop-test-1, namespace: velero}
        spec:
          scheduleName: shop
          namespaceMapping: {shop: shop-test}
        status:
          phase: Completed
          completionTimestamp: "2026-11-25T04:00:00Z"
        """
    r = scan(
        tmp_path, [schedule("0 */6 * * *"), RESTORE_JOB % "2026-10-01T00:00:00Z", restore], ("GC803",), origin=DUMP
    )
    assert msgs(r, "GC803") == []


def test_timestamps():
    assert backup.timestamp("2026-11-27T10:00:00Z") == dt.datetime(2026, 11, 27, 10, tzinfo=dt.UTC)
    assert backup.timestamp("not a time") is None and backup.timestamp(5) is None


# ---------------------------------------------------------------- schedules kept outside the scan


def test_declared_external_backup_cron(tmp_path):
    doc = STS.replace(
        "  namespace: shop\n", '  namespace: shop\n  annotations:\n    guidecheck.io/backup-cron: "%s"\n', 1
    )
    assert msgs(scan(tmp_path, [doc % "0 */8 * * *"], ("GC801",)), "GC801") == []
    [m] = msgs(scan(tmp_path, [doc % "0 3 * * *"], ("GC801",)), "GC801")
    assert (
        "covered by the annotation guidecheck.io/backup-cron (a schedule outside the scan), but its worst-case "
        "gap is 1 d (0 3 * * *)" in m
    )
    r = scan(tmp_path, [doc % "0 */8 * * *"], ("GC801",), origin=DUMP)  # made elsewhere: no live evidence asked
    assert msgs(r, "GC801") == []


def test_declared_external_restore_test(tmp_path):
    doc = schedule("0 */6 * * *").replace(
        "  namespace: velero\n", '  namespace: velero\n  annotations:\n    guidecheck.io/restore-test: "%s"\n'
    )
    assert msgs(scan(tmp_path, [doc % "0 4 * * 1"], ("GC803",)), "GC803") == []
    [m] = msgs(scan(tmp_path, [doc % "weekly in CI"], ("GC803",)), "GC803")
    assert "declares restore tests" in m and "invalid schedule" in m
    [m] = msgs(scan(tmp_path, [doc % "@monthly"], ("GC803",)), "GC803")
    assert "worst-case gap is 31 d" in m


def test_live_snapshot_cronjob_last_success(tmp_path):
    job = """\
        apiVersion: batch/v1
        kind: CronJob
        metadata: {name: snap, namespace: shop}
        spec:
          schedule: "0 */6 * * *"
          jobTemplate:
            spec:
              template:
                spec:
                  containers:
                    - name: kubectl
                      image: bitnami/kubectl:1.30.2
                      args: [create, -f, /manifests/volumesnapshot.yaml]
        status:
          lastSuccessfulTime: "%s"
        """
    assert msgs(scan(tmp_path, [STS, job % "2026-11-27T06:00:00Z"], ("GC801",), origin=DUMP), "GC801") == []
    [m] = msgs(scan(tmp_path, [STS, job % "2026-11-26T06:00:00Z"], ("GC801",), origin=DUMP), "GC801")
    assert "1 d 6 h ago (CronJob/shop/snap status.lastSuccessfulTime" in m


def test_schedules_of_another_scanned_directory_do_not_cover(tmp_path):
    app, platform = tmp_path / "app", tmp_path / "platform"
    app.mkdir()
    platform.mkdir()
    (app / "sts.yaml").write_text(STS, encoding="utf-8")
    (platform / "schedule.yaml").write_text(schedule("0 */6 * * *"), encoding="utf-8")
    r = in_process_scan([app, platform], select=("GC801",), now=NOW, rules=RULES)
    [m] = msgs(r, "GC801")
    assert "covered by no backup schedule" in m
    r = in_process_scan([tmp_path], select=("GC801",), now=NOW, rules=RULES)
    assert msgs(r, "GC801") == []


def test_cron_tz_prefix_in_a_cronjob_is_rejected_as_kubernetes_does(tmp_path):
    [m] = msgs(scan(tmp_path, [drill("CRON_TZ=Europe/Madrid 0 3 * * 0")], ("GC803",)), "GC803")
    assert "set spec.timeZone" in m


def test_a_cnpg_cluster_without_storage_is_reported_on_its_spec_line(tmp_path):
    """keycloakx's example Cluster sets no storage: GC801 sat on `description:`, the spec's first key."""
    cluster = (
        "apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: db\n  namespace: shop\n"
        "spec:\n  description: Keycloak Cluster\n  instances: 1\n"
    )
    r = scan(tmp_path, [cluster], ("GC801",))
    assert [(f.line, f.rule_id) for f in r.findings] == [(6, "GC801")], [(f.line, f.message) for f in r.findings]
    (tmp_path / "with").mkdir()
    r = scan(tmp_path / "with", [cluster + "  storage:\n    size: 1Gi\n"], ("GC801",))
    assert [f.line for f in r.findings] == [9]


def test_schedules_of_the_same_name_in_two_files_are_named_with_their_files(tmp_path):
    """kyverno/policies' test suites hold Schedule/velero/badschedule01 in several files: the GC801 message
    named it four times over, indistinguishably, in one long chain."""
    daily = schedule("0 0 * * *", name="badschedule01")
    r = scan(tmp_path, [STS, daily, daily], ("GC801",))
    [m] = msgs(r, "GC801")
    assert "Schedule/velero/badschedule01 (" in m and m.count("m01.yaml") == 1 and m.count("m02.yaml") == 1, m
    (tmp_path / "many").mkdir()
    r = scan(tmp_path / "many", [STS, *(schedule("0 0 * * *", name=f"s{i}") for i in range(5))], ("GC801",))
    [m] = msgs(r, "GC801")
    assert m.count(" and by ") == 3 and "and by 2 more" in m, m
