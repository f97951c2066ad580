"""Live cluster audit (``guidecheck audit``): read-only, paginated, metadata-only for Secrets.

* :mod:`guidecheck.cluster.client`  the one place that imports the official
  ``kubernetes`` client: kubeconfig / in-cluster credentials, discovery,
  paginated raw-JSON lists, retries, the API server's pod proxy and pod logs;
* :mod:`guidecheck.cluster.model`   what an audit is, apart from how it is read:
  its options and result, coverage and probe records as ``live`` targets,
  the ``cluster/<context>/...`` path segments (imported by the three below);
* :mod:`guidecheck.cluster.objects` live (or dumped) objects → ``k8s`` targets
  (paths ``cluster/<context>/<namespace>/<Kind>/<name>``, Helm release and chart
  in the origin, Secrets reduced to their metadata);
* :mod:`guidecheck.cluster.audit`   the audit itself: what to read, coverage gaps
  (GC004), opt-in bounded probes (GC502, GC503 live), the ``--dump`` writer;
* :mod:`guidecheck.cluster.dump`    ``--from-dump``: ``kubectl get -o yaml|json``
  output and guidecheck's own dumps, for air-gapped audits;
* :mod:`guidecheck.cluster.jsonlist` the one-pass reader of ``kubectl get -o json`` Lists
  (items one at a time, the positions the general JSON path gives).

Nothing here is imported by ``guidecheck scan``.
"""
