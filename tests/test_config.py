from __future__ import annotations

import pytest

from guidecheck.config import DEFAULT_SETTINGS, Config, ConfigError, find_config, load_config
from guidecheck.model import Severity

from conftest import ROOT


def write(tmp_path, text):
    p = tmp_path / ".guidecheck.yaml"
    p.write_text(text, encoding="utf-8")
    return str(p)


def test_defaults_are_the_guideline_thresholds():
    c = Config()
    assert c.settings["metrics-port"] == 9100
    assert c.settings["metrics-path"] == "/metrics"
    assert c.settings["key-rotation-hours"] == 24
    assert c.settings["snapshot-interval-hours"] == 12
    assert c.settings["restore-test-days"] == 15
    assert c.fail_on == "error"


def test_unknown_top_level_key_names_key_and_line(tmp_path):
    path = write(tmp_path, "fail-on: warning\nplugins: [x.py]\n")
    with pytest.raises(ConfigError, match=r":2: unknown key 'plugins'"):
        load_config(path)


def test_unknown_nested_key(tmp_path):
    path = write(tmp_path, "settings:\n  metrics-port: 9100\n  metric-path: /m\n")
    with pytest.raises(ConfigError, match=r":3: unknown key 'settings.metric-path'"):
        load_config(path)


def test_wrong_type_names_key(tmp_path):
    path = write(tmp_path, "settings:\n  metrics-port: nine\n")
    with pytest.raises(ConfigError, match=r"settings.metrics-port"):
        load_config(path)


def test_bad_regex_is_config_error(tmp_path):
    path = write(tmp_path, "settings:\n  image-tag-pattern: '([a-z'\n")
    with pytest.raises(ConfigError, match="image-tag-pattern"):
        load_config(path)


def test_yaml_error_in_config(tmp_path):
    path = write(tmp_path, "select: [GC4\n")
    with pytest.raises(ConfigError, match=r"\.guidecheck\.yaml:\d+:\d+"):
        load_config(path)


def test_settings_override_keeps_other_defaults(tmp_path):
    path = write(tmp_path, "settings:\n  metrics-port: 9200\nseverity:\n  GC404: error\n  GC4: info\n")
    c = load_config(path)
    assert c.settings["metrics-port"] == 9200
    assert c.settings["metrics-path"] == "/metrics"
    assert c.severity_for("GC404", Severity.WARNING) == Severity.ERROR  # longest prefix wins
    assert c.severity_for("GC405", Severity.ERROR) == Severity.INFO


def test_select_ignore_prefixes():
    c = Config(select=("GC4",), ignore=("GC404",))
    assert c.enabled("GC403")
    assert not c.enabled("GC404")
    assert not c.enabled("GC301")
    assert Config(select=("ALL",)).enabled("GC301")


def test_find_config_upward(tmp_path):
    (tmp_path / ".guidecheck.yaml").write_text("fail-on: warning\n")
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    assert find_config(str(sub)) == str(tmp_path / ".guidecheck.yaml")


def test_every_setting_is_documented():
    doc = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    for key in DEFAULT_SETTINGS:
        assert f"`{key}`" in doc, key
    import json

    schema = json.loads((ROOT / "src/guidecheck/schemas/config.schema.json").read_text())
    for key in schema["properties"]:
        assert f"`{key}`" in doc, key
    for key in schema["properties"]["limits"]["properties"]:
        assert key in doc, key
    assert set(schema["properties"]["settings"]["properties"]) == set(DEFAULT_SETTINGS)


def test_committed_schema_settings_are_the_catalogue_s():
    """config.schema.json's settings part is generated from the rules' settings: declarations."""
    import json

    from guidecheck.catalog import settings_schema

    schema = json.loads((ROOT / "src/guidecheck/schemas/config.schema.json").read_text())
    assert schema["properties"]["settings"] == settings_schema()


def test_preview_key(tmp_path):
    assert load_config(write(tmp_path, "preview: true\n")).preview is True
    c = Config(select=("GC9",))
    assert c.runs("GC901") and not c.runs("GC901", "preview") and not c.runs("GC901", "removed")
    assert Config(select=("GC901",)).runs("GC901", "preview")
    assert Config(preview=True).runs("GC901", "preview")
    with pytest.raises(ConfigError, match="preview"):
        load_config(write(tmp_path, "preview: yes please\n"))


def test_setting_accessor_applies_the_merge_policy(tmp_path):
    from guidecheck.catalog import load_settings
    from guidecheck.checks import Context

    path = write(
        tmp_path,
        "settings:\n  metrics-port: 9200\n  changelog-files: [HISTORY.cfg]\n"
        "  backup-job-patterns: {restic-backup: null, mine: 'my-backup'}\n",
    )
    c = load_config(path)
    ctx = Context(settings=c.settings, options={}, specs=load_settings())
    assert ctx.setting("metrics-port") == 9200
    assert ctx.setting("changelog-files") == [*DEFAULT_SETTINGS["changelog-files"], "HISTORY.cfg"]
    patterns = ctx.setting("backup-job-patterns")
    assert "restic-backup" not in patterns and patterns["mine"] == "my-backup" and "borg-create" in patterns
    assert c.settings["changelog-files"] == ["HISTORY.cfg"]  # Config.settings keeps the configured value
    assert (
        Context(settings=Config().settings, options={}, specs=load_settings()).setting("workload-kinds")
        == DEFAULT_SETTINGS["workload-kinds"]
    )
