"""Command line: ``guidecheck scan | rules | explain``.

Exit codes (docs/exit-codes in README and docs/commands.md):
0 clean; 1 findings at or above --fail-on (parse errors count); 2 usage or
configuration error; 3 scan incomplete (a needed tool or API unavailable, or a
check failed): never 0 when something could not be checked.
"""

from __future__ import annotations

import os
import sys

import click

from guidecheck import __version__

EXIT_CLEAN, EXIT_FINDINGS, EXIT_USAGE, EXIT_INCOMPLETE = 0, 1, 2, 3


def _split(values: tuple[str, ...]) -> tuple[str, ...]:
    out = []
    for v in values:
        out.extend(p.strip().upper() for p in v.split(",") if p.strip())
    return tuple(out)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", "-V", prog_name="guidecheck", message="%(prog)s %(version)s")
def main() -> None:
    """Check microservice repositories, charts and clusters against the deployment guideline."""


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option("--format", "-f", "formats", multiple=True, type=click.Choice(["text", "json", "junit", "sarif"]),
              help="Output format; repeat for several, each paired with the --output in the same position.")
@click.option("--output", "-o", "outputs", multiple=True, type=click.Path(dir_okay=False, path_type=str),
              help="File for the matching --format (default: standard output).")
@click.option("--fail-on", type=click.Choice(["error", "warning", "info", "never"]),
              help="Lowest severity that makes the exit code 1 (default: error, or the config's fail-on).")
@click.option("--select", multiple=True, help="Only these rule ids or prefixes (comma-separated, repeatable).")
@click.option("--ignore", multiple=True, help="Skip these rule ids or prefixes (comma-separated, repeatable).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=str),
              help="Configuration file (default: .guidecheck.yaml found upward from the first path).")
@click.option("--isolated", is_flag=True, help="Ignore every configuration file; use the built-in defaults.")
@click.option("--no-inline-suppressions", is_flag=True,
              help="Ignore suppression comments and annotations (CI policy); findings are reported as active.")
@click.option("--quiet", "-q", is_flag=True, help="Only the findings: no fix hints, no summary line.")
@click.option("--color/--no-color", default=None, help="Colour the text output (default: only on a terminal).")
def scan(paths, formats, outputs, fail_on, select, ignore, config_path, isolated, no_inline_suppressions, quiet,
         color) -> None:
    """Scan repositories (directories) and files (as pre-commit passes them).

    A directory is checked as a service repository: repository rules (GC201-GC204)
    apply to it. Files given one by one are checked on their own.
    """
    from guidecheck.config import ConfigError, find_config, load_config, with_cli

    paths = list(paths) or ["."]
    if len(outputs) > len(formats):
        raise click.UsageError("each --output needs a --format before it")
    formats = list(formats) or ["text"]
    pairs = [(fmt, outputs[i] if i < len(outputs) else None) for i, fmt in enumerate(formats)]
    if sum(1 for _, out in pairs if out is None) > 1:
        raise click.UsageError("only one --format can go to standard output; give the others an --output")
    try:
        if isolated:
            cfg_file = None
        else:
            cfg_file = config_path or find_config(paths[0])
        if config_path and not os.path.isfile(config_path):
            raise ConfigError(f"{config_path}: configuration file not found")
        config = load_config(cfg_file)
        config = with_cli(
            config,
            fail_on=fail_on,
            select=_split(select) or None,
            ignore=_split(ignore) or None,
            inline_suppressions=False if no_inline_suppressions else None,
        )
    except ConfigError as exc:
        click.echo(f"guidecheck: configuration error: {exc}", err=True)
        sys.exit(EXIT_USAGE)

    from guidecheck import engine
    from guidecheck.catalog import CatalogError, load_rules
    from guidecheck.loaders import load
    from guidecheck.model import Severity
    from guidecheck.reporters import render

    try:
        rules = load_rules()
    except CatalogError as exc:
        click.echo(f"guidecheck: rule catalogue error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    unknown = [p for p in (*config.select, *config.ignore, *config.severity)
               if p != "ALL" and not any(r.id.startswith(p) for r in rules)]
    if unknown:
        click.echo(f"guidecheck: unknown rule id or prefix: {', '.join(sorted(set(unknown)))}", err=True)
        sys.exit(EXIT_USAGE)

    loaded = load(paths, config)
    result = engine.run(rules, loaded.targets, config)
    result.inputs = paths

    threshold = config.threshold()
    failing = threshold is not None and any(f.severity >= threshold for f in result.active())
    if result.incomplete:
        code = EXIT_INCOMPLETE
    elif failing:
        code = EXIT_FINDINGS
    else:
        code = EXIT_CLEAN
    use_color = color if color is not None else (sys.stdout.isatty() and "NO_COLOR" not in os.environ)
    meta = {"version": __version__, "exit_code": code, "inputs": paths, "config": cfg_file, "quiet": quiet,
            "threshold": str(threshold) if threshold else "never"}
    for fmt, out in pairs:
        text = render(fmt, result, {**meta, "color": use_color and out is None and fmt == "text"})
        if out is None:
            _write_stdout(text)
        else:
            try:
                with open(out, "w", encoding="utf-8", newline="\n") as fh:
                    fh.write(text)
            except OSError as exc:
                click.echo(f"guidecheck: cannot write {out}: {exc.strerror}", err=True)
                sys.exit(EXIT_USAGE)
    _ = Severity  # severity names are documented in --fail-on
    sys.exit(code)


def _write_stdout(text: str) -> None:
    data = text.encode("utf-8", "backslashreplace")
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.flush()


@main.command("rules")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text")
def rules_cmd(fmt: str) -> None:
    """List every rule: id, severity, guideline bullet, title."""
    from guidecheck.catalog import load_rules

    rules = load_rules()
    if fmt == "json":
        import json

        _write_stdout(json.dumps([r.to_json() for r in rules], indent=2) + "\n")
        return
    if fmt == "markdown":
        lines = ["| ID | bullet | severity | targets | title |", "|---|---|---|---|---|"]
        lines += [f"| [{r.id}](rules/{r.id}.md) | {r.guideline} | {r.severity} | {', '.join(r.targets)} | {r.title} |"
                  for r in rules]
        _write_stdout("\n".join(lines) + "\n")
        return
    width = max(len(r.title) for r in rules)
    lines = [f"{'ID':<6} {'SEVERITY':<8} {'BULLET':<6} {'TARGETS':<16} TITLE", "-" * (42 + width)]
    for r in rules:
        lines.append(f"{r.id:<6} {str(r.severity):<8} {r.guideline:<6} {','.join(r.targets):<16} {r.title}")
    _write_stdout("\n".join(lines) + "\n")


@main.command()
@click.argument("rule_id")
def explain(rule_id: str) -> None:
    """Explain a rule: why it exists, how to fix it, a passing and a failing example."""
    from guidecheck.catalog import load_rules
    from guidecheck.docs import explain_text

    rules = {r.id: r for r in load_rules()}
    rule = rules.get(rule_id.upper())
    if rule is None:
        click.echo(f"guidecheck: no rule {rule_id}; see 'guidecheck rules'", err=True)
        sys.exit(EXIT_USAGE)
    _write_stdout(explain_text(rule))
