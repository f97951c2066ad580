"""CI/CD pipelines: one model (:mod:`.model`) and a pure parser per system.

:mod:`.github` (GitHub Actions), :mod:`.gitlab` (GitLab CI), :mod:`.jenkins`
(Jenkinsfiles), :mod:`.release` (release tooling in file contents), sharing
:mod:`.common`.  Parsed YAML or text in, models out: no file system, no
targets.  Files a pipeline refers to are read through the loader's reader
callback (:data:`.common.Reader`); :mod:`guidecheck.loaders.ci` finds and reads
the files and makes the targets.
"""
