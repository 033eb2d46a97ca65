// Enrichment runs, newest first: status, what each wrote, its metrics, and why it failed.
// :param limit => 20
// :param job => ''
// (job: '' for every run, or a job name such as 'nightly')
MATCH (r:KGCRun)
WHERE coalesce($job, '') IN ['', r.job]
RETURN r.id AS run, r.job AS job, r.kind AS kind, r.status AS status, r.model AS model,
       r.started_at AS started, r.finished_at AS finished, r.seconds AS seconds,
       r.written AS written, r.updated AS updated, r.skipped AS skipped,
       r.entities_written AS entities, r.metrics AS metrics, r.error AS error
ORDER BY r.started_at DESC
LIMIT $limit
